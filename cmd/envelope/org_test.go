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

// `envelope letter` refuses without a profile, then produces a letter
// that `envelope verify` accepts; an override directory with a bad
// template is refused naming its line.
func TestLetterCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	keys, pkgs := filepath.Join(dir, "keys"), filepath.Join(dir, "packages")
	number := approvedWarrant(t, db)
	if code, _, errOut := cli(t, db, "", "letter", "--keys", keys, "--packages", pkgs, "--kind", "no_records", number); code != 1 || !strings.Contains(errOut, "organisation profile") {
		t.Fatalf("without a profile: %d %s", code, errOut)
	}
	cli(t, db, "", "org", "load", "../../testdata/demo/org.json")
	tmpl := filepath.Join(dir, "tmpl")
	os.Mkdir(tmpl, 0o700)
	os.WriteFile(filepath.Join(tmpl, "no_records.tmpl"), []byte("@letterhead\n\n{{.Nope}}\n"), 0o600)
	if code, _, errOut := cli(t, db, "", "letter", "--letters", tmpl, "--keys", keys, "--packages", pkgs, "--kind", "no_records", number); code == 0 || !strings.Contains(errOut, "no_records.tmpl:3:") {
		t.Fatalf("bad template: %d %s", code, errOut)
	}
	code, out, errOut := cli(t, db, "", "letter", "--keys", keys, "--packages", pkgs, "--kind", "no_records", number)
	if code != 0 {
		t.Fatalf("letter: %d %s", code, errOut)
	}
	path := strings.Fields(out)[1]
	if code, _, errOut := cli(t, db, "", "verify", "--keys", keys, path); code != 0 {
		t.Fatalf("verify: %d %s", code, errOut)
	}
}
