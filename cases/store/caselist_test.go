package store_test

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Sorted lists page by keyset through every matching case exactly once, in
// the promised order, with ties on the sort value broken by id and cases
// without a due date last; and they select exactly what ListCases selects.
func TestListCasesSorted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		names := []string{"pen_register.json", "emergency.json", "subpoena.json"}
		for i := range 23 {
			req := request(t, names[i%3])
			// Received times and due dates repeat, so ties must be broken
			// by id; every fifth case has no due date.
			req.ReceivedAt = base.Add(time.Duration(i%7) * time.Hour)
			due := base.AddDate(0, 0, i%4).Add(time.Duration(i%2) * 1500 * time.Millisecond)
			req.DueAt = &due
			if i%5 == 0 {
				req.DueAt = nil
			}
			if _, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: req, Decision: decision(cases.OutcomeApprove)}); err != nil {
				t.Fatal(err)
			}
		}
		dueBefore := base.AddDate(0, 0, 2)
		filters := map[string]cases.CaseFilter{
			"all":        {},
			"country":    {Country: "US"},
			"process":    {Process: cases.Subpoena},
			"due before": {DueBefore: &dueBefore},
			"due after":  {DueAfter: &dueBefore},
			"status":     {Status: cases.StatusReceived},
			"text":       {Query: "3:26-mj"},
		}
		for fname, f := range filters {
			all, err := db.ListCases(ctx, cases.CaseFilter{Status: f.Status, Country: f.Country, Process: f.Process,
				DueBefore: f.DueBefore, DueAfter: f.DueAfter, Query: f.Query, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range store.SortKeys {
				for _, desc := range []bool{false, true} {
					want := slices.Clone(all.Cases)
					slices.SortFunc(want, func(a, b *cases.Case) int {
						var c int
						switch key {
						case "received":
							c = a.ReceivedAt.Compare(b.ReceivedAt)
						case "number":
							c = cmp.Compare(a.Number, b.Number)
						case "due":
							switch {
							case a.DueAt == nil && b.DueAt == nil:
							case a.DueAt == nil:
								return 1 // last in either direction
							case b.DueAt == nil:
								return -1
							default:
								c = a.DueAt.Compare(*b.DueAt)
							}
						}
						if c == 0 {
							c = cmp.Compare(a.ID, b.ID)
						}
						if desc {
							return -c
						}
						return c
					})
					var got []int64
					cursor := ""
					for pages := 0; ; pages++ {
						f.Limit = 4
						p, err := db.ListCasesSorted(ctx, f, key, desc, cursor)
						if err != nil {
							t.Fatalf("%s by %s: %v", fname, key, err)
						}
						for _, c := range p.Cases {
							got = append(got, c.ID)
						}
						if p.Next == "" || pages > 20 {
							break
						}
						cursor = p.Next
					}
					var wantIDs []int64
					for _, c := range want {
						wantIDs = append(wantIDs, c.ID)
					}
					if !slices.Equal(got, wantIDs) {
						t.Errorf("%s by %s desc=%v:\n got %v\nwant %v", fname, key, desc, got, wantIDs)
					}
				}
			}
		}
		if _, err := db.ListCasesSorted(ctx, cases.CaseFilter{}, "agency", false, ""); cases.ErrorCode(err) != cases.EINVALID {
			t.Errorf("unknown sort key: %v", err)
		}
		for _, bad := range []string{"x", "_1", "2026-01-01T00:00:00Z_x", "yesterday_3"} {
			if _, err := db.ListCasesSorted(ctx, cases.CaseFilter{}, "due", false, bad); cases.ErrorCode(err) != cases.EINVALID {
				t.Errorf("bad cursor %q: %v", bad, err)
			}
		}
	})
}
