package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// The stored due_at, which lists, panels and reminders read, moves with the
// clock: a clarification stops it (no deadline runs while the agency is
// asked), the answer restarts it later by the time it stood; each move is
// audited as case.due_at in the event's transaction.
func TestDueAtFollowsPauseAndRestart(t *testing.T) {
	storetest.Each(t, dueAtFollowsPauseAndRestart)
}

func dueAtFollowsPauseAndRestart(t *testing.T, db *store.DB) {
	f := newFixture(t, db)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	f.srv.Now = func() time.Time { return now }
	db.Now = func() time.Time { return now }
	var c cases.Case
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", euProduction(""), &c); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	want := time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC) // EU-EPOC-10D
	if c.DueAt == nil || !c.DueAt.Equal(want) {
		t.Fatalf("due_at at intake: %v", c.DueAt)
	}
	stored := func() *time.Time {
		t.Helper()
		k, err := db.Case(ctx, c.Number)
		if err != nil {
			t.Fatal(err)
		}
		return k.DueAt
	}
	now = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+c.Number+"/clarification", []byte(`{"question":"which account?"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("clarification: %d %s", w.Code, w.Body)
	}
	if d := stored(); d != nil {
		t.Errorf("due_at while the clock stands: %v, want none", d)
	}
	now = time.Date(2026, 11, 23, 12, 30, 0, 0, time.UTC) // 2 days 2h30m later
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/clarification/answer", []byte(`{"answer":"the second"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("answer: %d %s", w.Code, w.Body)
	}
	moved := want.Add(50*time.Hour + 30*time.Minute)
	if d := stored(); d == nil || !d.Equal(moved) {
		t.Errorf("due_at after the answer: %v, want %v", d, moved)
	}
	page, err := db.ListCases(ctx, cases.CaseFilter{DueAfter: &want, Limit: 10})
	if err != nil || len(page.Cases) != 1 || !page.Cases[0].DueAt.Equal(moved) {
		t.Errorf("the case list does not see the moved deadline: %v", err)
	}
	if n := countEvents(t, db, "case", c.ID, "case.due_at"); n != 2 {
		t.Errorf("%d case.due_at events, want 2 (stop, restart)", n)
	}

	// A reset sets the authority's deadline; "extend" on an order whose
	// rules have no extension is refused naming the field, and writes nothing.
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/clock-events", []byte(`{"event":"deadline_reset","due_at":"2026-12-10T12:00:00Z"}`), nil); w.Code != http.StatusCreated {
		t.Fatalf("reset: %d %s", w.Code, w.Body)
	}
	if d := stored(); d == nil || !d.Equal(time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("due_at after the reset: %v", d)
	}
	before, _ := db.Events(ctx, "case", itoa(c.ID))
	var e struct{ Fields map[string]string }
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/clock-events", []byte(`{"event":"extend"}`), &e); w.Code != http.StatusBadRequest ||
		!strings.Contains(e.Fields["event"], "no clock rule") {
		t.Errorf("extend without an extension: %d %s", w.Code, w.Body)
	}
	if after, _ := db.Events(ctx, "case", itoa(c.ID)); len(after) != len(before) {
		t.Errorf("a refused extend wrote %d event(s)", len(after)-len(before))
	}
}

// An EU preservation order's one 30-day extension is taken; a second is
// refused, naming the field.
func TestExtendOnlyWhileARuleAllows(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	body := strings.Replace(string(euProduction("")), `"eu_production_order"`, `"eu_preservation_order"`, 1)
	body = strings.Replace(body, `"basic_subscriber_info","ip_logs"`, `"basic_subscriber_info"`, 1)
	var c cases.Case
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(body), &c); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/clock-events", []byte(`{"event":"extend"}`), nil); w.Code != http.StatusCreated {
		t.Fatalf("first extend: %d %s", w.Code, w.Body)
	}
	var e struct{ Fields map[string]string }
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/clock-events", []byte(`{"event":"extend"}`), &e); w.Code != http.StatusBadRequest ||
		!strings.Contains(e.Fields["event"], "all used") {
		t.Errorf("second extend: %d %s", w.Code, w.Body)
	}
}

// countEvents counts the audit events of one action on an entity.
func countEvents(t *testing.T, db *store.DB, entity string, id int64, action string) int {
	t.Helper()
	evs, err := db.Events(ctx, entity, itoa(id))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Action == action {
			n++
		}
	}
	return n
}
