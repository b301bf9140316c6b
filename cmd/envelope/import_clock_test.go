package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// An imported case without a deadline gets the one the clock engine
// computes (EU-EPOC-10D: received 2026-11-20 09:30Z, due 10 days later),
// so lists and reminders see it; a deadline the tracker had stands.
func TestImportComputesDueAt(t *testing.T) {
	db := filepath.Join(t.TempDir(), "envelope.db")
	line := strings.ReplaceAll(euRequest, "\n", "")
	typed := strings.Replace(line, `"EPOC-1"`, `"EPOC-2"`, 1)
	typed = strings.Replace(typed, `"categories"`, `"due_at":"2026-11-25T12:00:00Z","categories"`, 1)
	if code, _, errOut := cli(t, db, "", "cases", "import", writeTemp(t, line+"\n"+typed+"\n")); code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.ListCases(context.Background(), cases.CaseFilter{Limit: 10})
	if err != nil || len(p.Cases) != 2 {
		t.Fatalf("list: %v", err)
	}
	want := map[string]time.Time{"EPOC-1": time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC), "EPOC-2": time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	for _, c := range p.Cases {
		if w := want[c.Process.Reference]; c.DueAt == nil || !c.DueAt.Equal(w) {
			t.Errorf("%s: due_at %v, want %v", c.Process.Reference, c.DueAt, w)
		}
	}
}
