package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

func TestOnThisHost(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@localhost:5432/db":                  true,
		"postgres://u@127.0.0.1/db":                       true,
		"postgres://u@[::1]:5432/db":                      true,
		"postgres:///db":                                  true,
		"postgres:///db?host=/var/run/postgresql":         true,
		"postgres://u@/db?host=localhost&sslmode=disable": true,
		"postgres://u@db.internal/db":                     false,
		"postgres:///db?host=db.internal":                 false,
		"postgres://u:p%zz@localhost/db":                  false,
	} {
		if got := onThisHost(dsn); got != want {
			t.Errorf("%s: %v", dsn, got)
		}
	}
}

// copyBlocks hands each block's rows to what block returned for it, skips
// the tables it returned nil for, and finds the wanted columns by name.
func TestCopyBlocks(t *testing.T) {
	const dump = "SET x = 1;\n" +
		"COPY public.other (a) FROM stdin;\nignored\n\\.\n" +
		"COPY public.t (z, b, a) FROM stdin;\n1\t\\N\tx\\ty\n2\tB\tA\n\\.\n"
	var got []string
	err := copyBlocks(context.Background(), strings.NewReader(dump), func(table string, cols []string) (rowFunc, error) {
		if table != "t" {
			return nil, nil
		}
		c, err := columns(cols, "a", "b")
		if err != nil {
			return nil, err
		}
		return func(_ context.Context, line []byte) error {
			f, err := c.fields(line)
			if err == nil {
				got = append(got, fmt.Sprintf("%s/%v", f[0].String, f[1].Valid))
			}
			return err
		}, nil
	})
	if err != nil || strings.Join(got, ",") != "x\ty/false,A/true" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := columns([]string{"a"}, "a", "b"); err == nil || !strings.Contains(err.Error(), "no column b") {
		t.Errorf("a missing column: %v", err)
	}
	c, _ := columns([]string{"a", "b"}, "b")
	if _, err := c.fields([]byte("1\t2\t3")); err == nil || !strings.Contains(err.Error(), "3 fields for 2 columns") {
		t.Errorf("a row of the wrong width: %v", err)
	}
	cut := "COPY public.t (a) FROM stdin;\n1\n"
	err = copyBlocks(context.Background(), strings.NewReader(cut), func(string, []string) (rowFunc, error) { return nil, nil })
	if err == nil || !strings.Contains(err.Error(), "cut short") {
		t.Errorf("a block cut short: %v", err)
	}
}
