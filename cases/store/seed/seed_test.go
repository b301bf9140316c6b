package seed_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/seed"
	"envelope/cases/store/storetest"
)

// TestCasesSameOnBothEngines: the SQLite inserts and the PostgreSQL COPY
// write the same cases and search terms; the store reads them (a list, a
// filtered page), and on PostgreSQL a case logged afterwards
// gets an ID past the seeded ones.
func TestCasesSameOnBothEngines(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	const n = 3000
	digests := map[string]string{}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := seed.Cases(ctx, db, n, now, "queue@example.org"); err != nil {
			t.Fatal(err)
		}
		r := db.Reader()
		var count, terms, received, queued int
		var digest string
		for q, v := range map[string]any{
			"SELECT COUNT(*) FROM cases":                                      &count,
			"SELECT COUNT(*) FROM case_terms":                                 &terms,
			"SELECT COUNT(*) FROM cases WHERE status = 'received'":            &received,
			"SELECT COUNT(*) FROM cases WHERE assignee = 'queue@example.org'": &queued,
			// Every column the lists show, in one string.
			"SELECT string_agg(number || status || agency_country || process_type || reference || produced || assignee, ',' ORDER BY id) FROM cases": &digest,
		} {
			if db.Dialect == store.SQLite {
				q = sqliteAgg(q)
			}
			if err := r.Get(v, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if count != n || terms != 6*n || received != n/6 || queued != 18 {
			t.Errorf("%d cases, %d terms, %d received, %d in the queue", count, terms, received, queued)
		}
		digests[string(db.Dialect)] = digest
		page, err := db.ListCases(ctx, cases.CaseFilter{Status: cases.StatusReceived, Country: "GB", Limit: 50})
		if err != nil || len(page.Cases) == 0 {
			t.Fatalf("list: %v %v", page, err)
		}
		if db.Dialect == store.Postgres {
			var next int64
			if err := r.Get(&next, "SELECT nextval(pg_get_serial_sequence('cases', 'id'))"); err != nil || next <= n {
				t.Errorf("the next case ID is %d (%v), inside the seeded ones", next, err)
			}
		}
	})
	if len(digests) == 2 && digests["sqlite"] != digests["postgres"] {
		t.Errorf("the engines hold different cases:\n%.200s\n%.200s", digests["sqlite"], digests["postgres"])
	}
}

// sqliteAgg writes string_agg as SQLite's group_concat over ordered rows
// and SQLite's 0/1 for a boolean, as PostgreSQL's 'false'/'true'.
func sqliteAgg(q string) string {
	if !strings.HasPrefix(q, "SELECT string_agg(") {
		return q
	}
	return fmt.Sprintf("SELECT group_concat(number || status || agency_country || process_type || reference || %s || assignee, ',') FROM (SELECT * FROM cases ORDER BY id)",
		"CASE produced WHEN 1 THEN 'true' ELSE 'false' END")
}
