package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"envelope/cases"
)

// place never replaces a file that appeared after the early check, unless
// told to.
func TestPlaceKeepsAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	tmp, path := filepath.Join(dir, "tmp"), filepath.Join(dir, "backup")
	os.WriteFile(tmp, []byte("new"), 0o600)
	os.WriteFile(path, []byte("old"), 0o600)
	if err := place(tmp, path, false); cases.ErrorCode(err) != cases.ECONFLICT {
		t.Fatalf("place over a file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("replaced: %q", b)
	}
	if err := place(tmp, path, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("not replaced: %q", b)
	}
}

func TestUnescapeCopy(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:                  "plain",
		`a\tb\nc\rd\be\ff\vg`:    "a\tb\nc\rd\be\ff\vg",
		`back\\slash \\N`:        `back\slash \N`,
		`\101\x41\x4a\7x\xq`:     "AAJ\x07xxq",
		`trailing\`:              `trailing\`,
		`{"k": "v\\\\", "n": 1}`: `{"k": "v\\", "n": 1}`,
	} {
		if got := unescapeCopy([]byte(in)); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestCopyHeaderAndTimes(t *testing.T) {
	name, cols := copyHeader(`COPY public.audit_events (seq, at, "order") FROM stdin;`)
	if name != "audit_events" || len(cols) != 3 || cols[2] != "order" {
		t.Fatalf("%s %q", name, cols)
	}
	want := time.Date(2026, 11, 20, 9, 31, 0, 123456000, time.UTC)
	for _, s := range []string{"2026-11-20 09:31:00.123456+00", "2026-11-20 10:31:00.123456+01", "2026-11-20 15:01:00.123456+05:30"} {
		if got, err := parsePGTime(s); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	if _, err := parsePGTime("yesterday"); err == nil {
		t.Error("a bad timestamp parsed")
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable":     "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=pw&sslmode=require": "postgres://u@h/db?password=xxxxx&sslmode=require",
		"postgres://u:p%zz@h/db":                        "postgres://(a URL that does not parse)",
		"./data/envelope db.sqlite":                     "./data/envelope db.sqlite",
	} {
		if got := Redact(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}
