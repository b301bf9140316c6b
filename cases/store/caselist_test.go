package store_test

import (
	"cmp"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Sorted lists page by keyset through every matching case exactly once, in
// the promised order, with ties on the sort value broken by id and cases
// without a due date last; they select exactly what ListCases selects, and
// each summary is its full case's.
func TestListSummariesSorted(t *testing.T) {
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
			byID := map[int64]*cases.Case{}
			for _, c := range all.Cases {
				byID[c.ID] = c
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
						p, err := db.ListSummaries(ctx, f, key, desc, cursor)
						if err != nil {
							t.Fatalf("%s by %s: %v", fname, key, err)
						}
						for _, s := range p.Cases {
							got = append(got, s.ID)
							if c := byID[s.ID]; c == nil || !reflect.DeepEqual(*s, summaryOf(c)) {
								t.Errorf("%s by %s: summary %+v of %+v", fname, key, *s, c)
							}
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
		// Newest first, ListSummaries pages by id as ListCases does.
		for fname, f := range filters {
			f.Limit = 4
			for pages := 0; pages < 20; pages++ {
				p, err := db.ListCases(ctx, f)
				if err != nil {
					t.Fatalf("%s: %v", fname, err)
				}
				next := ""
				if p.Next > 0 {
					next = strconv.FormatInt(p.Next, 10)
				}
				sameSummaries(t, db, f, "", true, "", p.Cases, next)
				if p.Next == 0 {
					break
				}
				f.After = p.Next
			}
		}
		for _, key := range []string{"agency", "id"} {
			if _, err := db.ListSummaries(ctx, cases.CaseFilter{}, key, false, ""); cases.ErrorCode(err) != cases.EINVALID {
				t.Errorf("ListSummaries, unknown sort key %q: %v", key, err)
			}
		}
		for _, bad := range []string{"x", "_1", "2026-01-01T00:00:00Z_x", "yesterday_3"} {
			if _, err := db.ListSummaries(ctx, cases.CaseFilter{}, "due", false, bad); cases.ErrorCode(err) != cases.EINVALID {
				t.Errorf("bad cursor %q: %v", bad, err)
			}
		}
	})
}

// sameSummaries checks that ListSummaries returns the page of full cases
// it was given, summarised: the same cases in the same order, the same next
// cursor, and each summary's fields those of its case.
func sameSummaries(t *testing.T, db *store.DB, f cases.CaseFilter, key string, desc bool, cursor string, full []*cases.Case, next string) {
	t.Helper()
	got, err := db.ListSummaries(ctx, f, key, desc, cursor)
	if err != nil {
		t.Fatalf("ListSummaries %+v by %q: %v", f, key, err)
	}
	if got.Next != next || len(got.Cases) != len(full) {
		t.Fatalf("ListSummaries %+v by %q: %d cases, next %q; want %d, %q", f, key, len(got.Cases), got.Next, len(full), next)
	}
	for i, c := range full {
		if s, want := got.Cases[i], summaryOf(c); !reflect.DeepEqual(*s, want) {
			t.Errorf("summary %d:\n got %+v\nwant %+v", i, *s, want)
		}
	}
}

// summaryOf is a full case's summary, as a list should show it.
func summaryOf(c *cases.Case) cases.Summary {
	s := cases.Summary{ID: c.ID, Number: c.Number, Status: c.Status, AgencyName: c.Agency.Name,
		Country: c.Agency.Country, Process: c.Process.Type, ReceivedAt: c.ReceivedAt, DueAt: c.DueAt,
		Targets: len(c.Targets), Assignee: c.Assignee}
	if c.Decision != nil {
		s.Outcome = c.Decision.Outcome
	}
	return s
}

// A summary reads back text that looks like the packing of SQLite's rows
// (summaryscan.go): commas, colons, printf's own %, quotes and characters
// of more than one byte, in the agency's name (the packed row's last
// part) and in the assignee (a length-prefixed part); and times with
// fractions of a second (microseconds, what PostgreSQL keeps).
func TestSummaryOddText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		req := request(t, "subpoena.json")
		req.Agency.Name = `Polícia 12:3, "Ünit" %s%d 50% ; 'x' 東京 ,:`
		req.ReceivedAt = time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC)
		due := time.Date(2026, 3, 9, 17, 30, 5, 5000, time.UTC)
		req.DueAt = &due
		c, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: req, Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		odd := user(t, db, "zoë.o'brien+12@exämple.org", cases.RoleIntake)
		if err := db.Assign(ctx, intake, c.Number, odd.Email); err != nil {
			t.Fatal(err)
		}
		c, err = db.Case(ctx, c.Number)
		if err != nil {
			t.Fatal(err)
		}
		p, err := db.ListSummaries(ctx, cases.CaseFilter{}, "", false, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Cases) != 1 || !reflect.DeepEqual(*p.Cases[0], summaryOf(c)) {
			t.Fatalf("summaries %+v, want %+v", p.Cases, summaryOf(c))
		}
	})
}

// NewestByStatus returns, in one statement, exactly the pages that
// ListSummaries returns for each status in turn: each status's newest
// cases first, cut at the limit, whatever the other filters.
func TestNewestByStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		names := []string{"pen_register.json", "emergency.json", "subpoena.json"}
		for i := range 31 {
			if _, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: request(t, names[i%3]), Decision: decision(cases.OutcomeApprove)}); err != nil {
				t.Fatal(err)
			}
		}
		// Statuses and assignees in a pattern other than the processes'.
		w := db.Writer()
		for i, st := range cases.OpenStatuses {
			w.MustExec(w.Rebind("UPDATE cases SET status = ? WHERE id % 4 = ?"), st, i)
		}
		w.MustExec(w.Rebind("UPDATE cases SET assignee = ? WHERE id % 5 < 3"), "rex@example.org")
		statuses := append(slices.Clone(cases.OpenStatuses), cases.StatusClosed)
		for fname, f := range map[string]cases.CaseFilter{
			"all":      {Limit: 4},
			"big page": {Limit: 50},
			"assignee": {Assignee: "rex@example.org", Limit: 3},
			"process":  {Process: cases.Subpoena, Limit: 2},
			"country":  {Country: "US", Limit: 5},
			"text":     {Query: "3:26-mj", Limit: 4},
		} {
			var want []cases.Summary
			for _, st := range statuses {
				g := f
				g.Status = st
				page, err := db.ListSummaries(ctx, g, "", false, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range page.Cases {
					want = append(want, *s)
				}
			}
			got, err := db.NewestByStatus(ctx, f, statuses)
			if err != nil {
				t.Fatal(err)
			}
			var have []cases.Summary
			for _, s := range got {
				have = append(have, *s)
			}
			if len(want) == 0 {
				t.Fatalf("%s: the fixture selects no case", fname)
			}
			if !reflect.DeepEqual(have, want) {
				t.Errorf("%s: one statement gave\n%+v\nthe pages one by one\n%+v", fname, have, want)
			}
		}
	})
}

// A received time the store cannot read fails the list, naming the field,
// rather than listing the case as received in the year 1 (the packed
// SQLite row is parsed in Go, where go-sqlite3's scan used to refuse
// it). Only a database edited by hand holds one.
func TestSummaryUnreadableTime(t *testing.T) {
	db := storetest.SQLite(t)
	req := request(t, "subpoena.json")
	c, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: req, Decision: decision(cases.OutcomeApprove)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Writer().Exec("UPDATE cases SET received_at = 'last tuesday' WHERE id = ?", c.ID); err != nil {
		t.Fatal(err)
	}
	p, err := db.ListSummaries(ctx, cases.CaseFilter{}, "", false, "")
	if err == nil || !strings.Contains(err.Error(), "received") {
		t.Fatalf("list of a case with an unreadable received time: %v, %+v", err, p)
	}
}
