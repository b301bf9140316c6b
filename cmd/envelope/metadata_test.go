package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetadataCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	data := filepath.Join(dir, "demo.ndjson")

	code, out, errOut := cli(t, db, "", "metadata", "generate", "--accounts", "30", "--seed", "4", "--out", data)
	if code != 0 || out != "" || !strings.Contains(errOut, "for 30 accounts") {
		t.Fatalf("generate: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := cli(t, db, "", "metadata", "generate"); code != 2 || !strings.Contains(errOut, "--accounts") {
		t.Fatalf("generate without --accounts: %d %q", code, errOut)
	}
	b, _ := os.ReadFile(data)
	lines := strings.Count(string(b), "\n")

	code, out, errOut = cli(t, db, "", "metadata", "import", data)
	if code != 0 || strings.TrimSpace(out) != fmt.Sprintf("read %d, stored %d, rejected 0", lines, lines) || errOut != "" {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}

	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte(`{"kind":"device","account":"+14155550123","device_id":"d1"}`+"\n"+
		`{"kind":"device","account":"+14155550123"}`+"\n"+
		`{"kind":"message","from":"+14155550123","to":"+447911123456","at":"2026-11-20T10:00:00Z","body":"hi"}`+"\n"), 0o600)
	code, out, errOut = cli(t, db, "", "metadata", "import", bad)
	if code != 1 || strings.TrimSpace(out) != "read 3, stored 2, rejected 1" ||
		!strings.Contains(errOut, bad+":2: device_id: is required") || strings.Contains(errOut, "\r") {
		t.Fatalf("import with a bad line: %d %q %q", code, out, errOut)
	}

	events := filepath.Join(dir, "events.ndjson")
	os.WriteFile(events, []byte(`{"from":"+14155550123","to":"+447911123456","at":"2026-11-20T10:00:00Z","kind":"text"}`+"\n"+`nope`+"\n"), 0o600)
	code, out, errOut = cli(t, db, "", "collect", events)
	if code != 0 || strings.TrimSpace(out) != `{"received":2,"kept":0,"clock_errors":0,"rejected":1}` || !strings.Contains(errOut, events+":2:") {
		t.Fatalf("collect: %d %q %q", code, out, errOut)
	}

	if code, out, _ := cli(t, db, "", "preservation", "purge"); code != 0 || !strings.Contains(out, "purged 0") {
		t.Fatalf("purge: %d %q", code, out)
	}
	if code, _, errOut := cli(t, db, "", "preservation", "extend", "--as", "nobody@example.org", "1"); code != 1 || !strings.Contains(errOut, "no user") {
		t.Fatalf("extend as nobody: %d %q", code, errOut)
	}
}
