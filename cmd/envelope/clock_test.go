package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const euRequest = `{"received_at":"2026-11-20T09:30:00Z","agency":{"name":"Parquet de Paris","country":"FR"},
	"process":{"type":"eu_production_order","issuing_authority":"Juge","reference":"EPOC-1","issued_at":"2026-11-19","authority_role":"judge","enforcing_state_notified":true},
	"targets":[{"kind":"phone","value":"+33612345678"}],"categories":["basic_subscriber_info"]}`

func TestClockCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "envelope.db")
	code, out, errOut := cli(t, db, euRequest, "clock", "check", "--tz", "Europe/Paris")
	if code != 0 || !strings.Contains(out, `"rule": "EU-EPOC-10D"`) || !strings.Contains(out, `"rule": "EU-ENFORCING-HOLD"`) || !strings.Contains(out, `"at": "2026-11-30T09:30:00Z"`) {
		t.Fatalf("check: %d %s %s", code, out, errOut)
	}
	// A later deadline than the law's is refused, naming the field.
	if code, _, errOut := cli(t, db, strings.Replace(euRequest, `"categories"`, `"due_at":"2026-12-24","categories"`, 1), "clock", "check"); code != 1 || !strings.Contains(errOut, "due_at") {
		t.Errorf("later due_at: %d %s", code, errOut)
	}

	// A bad clock file: exit 1 naming the line; the CLI refuses it whole.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	src, _ := os.ReadFile("../../policy/clock/default.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(src), "period: 10d", "period: -10d", 1)), 0o600)
	if code, _, errOut := cli(t, db, euRequest, "clock", "check", "--clock", bad); code != 1 || !strings.Contains(errOut, "line 58: rules[1].period") {
		t.Errorf("bad file: %d %s", code, errOut)
	}

	// Replay: a stored EU case's deadline would move with a 12-day rule.
	if code, _, errOut := cli(t, db, "", "cases", "import", writeTemp(t, strings.ReplaceAll(euRequest, "\n", "")+"\n")); code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	next := filepath.Join(t.TempDir(), "next.yaml")
	os.WriteFile(next, []byte(strings.Replace(string(src), "    clock: due\n    period: 10d\n", "    clock: due\n    period: 12d\n", 1)), 0o600)
	code, out, errOut = cli(t, db, "", "clock", "replay", "--clock", next)
	if code != 0 || !strings.Contains(out, "1 case(s) recomputed, 1 deadline(s) would move") || !strings.Contains(out, "2026-12-02T09:30:00Z") {
		t.Errorf("replay: %d %s %s", code, out, errOut)
	}
}

func writeTemp(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "cases.ndjson")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
