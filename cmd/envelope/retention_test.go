package main

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases/store"
)

// importLegacy makes a database holding the four legacy cases: number 1
// closed on 2026-08-01, 2 rejected, 3 produced, 4 closed on 2026-09-01.
func importLegacy(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "e.db")
	if code, _, errOut := cli(t, db, "", "cases", "import", "../../testdata/import/legacy.ndjson"); code != 0 {
		t.Fatal(errOut)
	}
	return db
}

func TestHoldCommands(t *testing.T) {
	db := importLegacy(t)
	if code, out, errOut := cli(t, db, "", "hold", "place", "--case", "LR-2026-000001", "--reason", "litigation: Doe v. Platform"); code != 0 ||
		out != "case LR-2026-000001: legal hold 1 placed\n" {
		t.Fatalf("place: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := cli(t, db, "", "hold", "place", "--case", "LR-2026-000001", "--reason", "again"); code != 1 || !strings.Contains(errOut, "already under a legal hold") {
		t.Errorf("second hold: %d %q", code, errOut)
	}
	if code, out, _ := cli(t, db, "", "hold", "list"); code != 0 || !strings.Contains(out, "LR-2026-000001  placed ") || !strings.Contains(out, "cli:hold place: litigation: Doe v. Platform") {
		t.Errorf("list: %d %q", code, out)
	}
	// --as: the named user's role must allow it.
	cli(t, db, "", "user", "add", "--email", "al@example.org", "--role", "auditor")
	cli(t, db, "", "user", "add", "--email", "rex@example.org", "--role", "reviewer")
	if code, _, errOut := cli(t, db, "", "hold", "release", "--case", "1", "--reason", "x", "--as", "al@example.org"); code != 1 || !strings.Contains(errOut, "auditor role may not") {
		t.Errorf("auditor release: %d %q", code, errOut)
	}
	if code, out, errOut := cli(t, db, "", "hold", "release", "--case", "1", "--reason", "settled", "--as", "rex@example.org"); code != 0 || !strings.Contains(out, "released") {
		t.Fatalf("release: %d %q %q", code, out, errOut)
	}
	if code, out, _ := cli(t, db, "", "hold", "list"); code != 0 || out != "no legal holds\n" {
		t.Errorf("list after release: %q", out)
	}
	if _, out, _ := cli(t, db, "", "hold", "list", "--all"); !strings.Contains(out, "(released ") || !strings.Contains(out, "by rex@example.org: settled)") {
		t.Errorf("list --all: %q", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"hold", "place", "--reason", "x"}, 2, "--case is required"},
		{[]string{"hold", "place", "--case", "1"}, 2, "--reason is required"},
		{[]string{"hold", "place", "--case", "1", "--reason", "  "}, 2, "--reason is required"},
		{[]string{"hold", "place", "--case", "LR-2026-999999", "--reason", "x"}, 1, "no case"},
		{[]string{"hold", "release", "--case", "2", "--reason", "x"}, 1, "not under a legal hold"},
		{[]string{"hold", "place", "--case", "1", "--reason", strings.Repeat("x", 2001)}, 1, "reason: is longer than 2000"},
	} {
		code, _, errOut := cli(t, db, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %d %q, want %d %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

func TestRetentionPurgeCommand(t *testing.T) {
	db := importLegacy(t)
	cli(t, db, "", "hold", "place", "--case", "LR-2026-000004", "--reason", "litigation")
	args := []string{"retention", "purge", "--retain-closed", "30d", "--at", "2027-01-01T00:00:00Z", "--packages", t.TempDir()}
	code, out, errOut := cli(t, db, "", append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "would purge LR-2026-000001 (case, older than 30d): 0 pair(s), 0 preserved record(s), 0 package file(s)") ||
		!strings.Contains(out, "kept LR-2026-000004 (case): under a legal hold") || !strings.HasSuffix(out, "dry run: would purge 1 case(s); nothing was changed\n") {
		t.Fatalf("dry run: %d %q %q", code, out, errOut)
	}
	purged := func() (n int) {
		s, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Reader().Get(&n, "SELECT COUNT(*) FROM cases WHERE purged_at IS NOT NULL"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if purged() != 0 {
		t.Fatal("the dry run purged")
	}
	if code, out, errOut := cli(t, db, "", args...); code != 0 || !strings.Contains(out, "purged LR-2026-000001 (case") || !strings.HasSuffix(out, "purged 1 case(s)\n") {
		t.Fatalf("purge: %d %q %q", code, out, errOut)
	}
	if purged() != 1 {
		t.Fatal("nothing purged")
	}
	if code, _, errOut := cli(t, db, "", "audit", "verify"); code != 0 {
		t.Fatal(errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"retention", "purge"}, "--retain-pairs or --retain-closed is required"},
		{[]string{"retention", "purge", "--retain-pairs", "abc"}, `invalid value "abc" for flag -retain-pairs`},
		{[]string{"retention", "purge", "--retain-closed", "-5d"}, `invalid value "-5d" for flag -retain-closed`},
		{[]string{"retention", "purge", "--retain-closed", "1d", "--at", "soon"}, "--at: not a date"},
		{[]string{"serve", "--retain-pairs", "-1h"}, `invalid value "-1h" for flag -retain-pairs`},
	} {
		code, _, errOut := cli(t, db, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %d %q, want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// serve --retain-closed runs a purge at start, and exits cleanly when
// stopped. (The hourly passes after it are not checked here.)
func TestServePurges(t *testing.T) {
	db := importLegacy(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		a := &app{stdin: strings.NewReader(""), stdout: pw, stderr: io.Discard, getenv: func(string) string { return "" }}
		done <- run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--retain-closed", "30d",
			"--keys", filepath.Join(t.TempDir(), "k"), "--packages", filepath.Join(t.TempDir(), "p")}, a)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.Contains(sc.Text(), "serving on") {
	}
	go io.Copy(io.Discard, pr)
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The first pass runs in the background; wait for its audit events.
	// The deadline only guards against a hang: the pass takes well under
	// a second.
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; n < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve purged %d case(s) in 30s, want 2", n)
		}
		if err := s.Reader().Get(&n, "SELECT COUNT(*) FROM audit_events WHERE action = 'retention.purge_case'"); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before purging", code)
		default:
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}
