package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The demo's profile file loads with its logo; a bad file is refused
// naming the field, and leaves the profile unset.
func TestOrgLoad(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	bad := filepath.Join(t.TempDir(), "org.json")
	os.WriteFile(bad, []byte(`{"legal_name": "X", "contact_email": "x", "logo_file": "missing.png"}`), 0o600)
	if code, _, errOut := cli(t, db, "", "org", "load", bad); code == 0 || !strings.Contains(errOut, "logo_file") {
		t.Fatalf("bad file: %d %s", code, errOut)
	}
	if code, _, _ := cli(t, db, "", "org", "show"); code == 0 {
		t.Fatal("a bad file set a profile")
	}
	if code, out, errOut := cli(t, db, "", "org", "load", "../../testdata/demo/org.json"); code != 0 || !strings.Contains(out, "Jordan Lee") {
		t.Fatalf("demo file: %d %s %s", code, out, errOut)
	}
	code, out, _ := cli(t, db, "", "org", "show")
	if code != 0 || !strings.Contains(out, `"logo_bytes": 1152`) || !strings.Contains(out, "Custodian of Records") {
		t.Fatalf("show: %d %s", code, out)
	}
}
