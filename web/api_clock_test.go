package web

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// The clock rules are put in force through the API like the policy: a bad
// file is a 400 naming the line and field and changes nothing; a good one
// is versioned, audited, used for new cases and kept after a restart.
func TestClockRulesAPI(t *testing.T) { storetest.Each(t, testClockRulesAPI) }

func testClockRulesAPI(t *testing.T, db *store.DB) {
	f := newFixture(t, db)
	src, err := os.ReadFile("../policy/clock/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cur struct{ Version, Source string }
	if w := f.do(cases.RoleAuditor, "GET", "/api/v1/clock", nil, &cur); w.Code != http.StatusOK || cur.Version == "" || !strings.Contains(cur.Source, "EU-EPOC-10D") {
		t.Fatalf("get: %d %s", w.Code, w.Body)
	}
	audit := func() int64 {
		n, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	events := audit()
	for field, bad := range map[string]string{
		"rules[1].period":           strings.Replace(string(src), "period: 10d", "period: -10d", 1),
		"rules[1].process_types[0]": strings.Replace(string(src), "    process_types: [eu_production_order]\n    clock: due\n    period: 10d", "    process_types: [eu_production_ordr]\n    clock: due\n    period: 10d", 1),
	} {
		var e struct{ Fields map[string]string }
		if w := f.do(cases.RoleAdmin, "PUT", "/api/v1/clock", []byte(bad), &e); w.Code != http.StatusBadRequest || !strings.HasPrefix(e.Fields[field], "line ") {
			t.Errorf("%s: %d %s", field, w.Code, w.Body)
		}
	}
	if w := f.do(cases.RoleReviewer, "PUT", "/api/v1/clock", src, nil); w.Code != http.StatusForbidden {
		t.Errorf("a reviewer activated clock rules: %d", w.Code)
	}
	if n := audit(); n != events || f.srv.Clocks().Version() != cur.Version {
		t.Fatalf("a refused file changed something: %d events (was %d)", n, events)
	}

	// An open case received under the 10-day rule: the new rule moves its
	// due date when it is activated, not at its next clock event.
	var open cases.Case
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", euProduction(""), &open); w.Code != http.StatusCreated ||
		open.DueAt == nil || !open.DueAt.Equal(time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("a case under the 10-day rule: %d %v", w.Code, open.DueAt)
	}
	// A due date typed in shorter, with its reason, stands.
	var typed cases.Case
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", euProduction(`,"due_at":"2026-11-25T09:30:00Z","due_reason":"the court asked for it sooner"`), &typed); w.Code != http.StatusCreated ||
		typed.DueAt == nil || !typed.DueAt.Equal(time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("a case with a typed due date: %d %v %s", w.Code, typed.DueAt, w.Body)
	}
	next := strings.Replace(string(src), "    clock: due\n    period: 10d\n", "    clock: due\n    period: 12d\n", 1)
	var got struct {
		Version  string `json:"version"`
		Previous string `json:"previous_version"`
		Moved    int    `json:"due_dates_moved"`
	}
	if w := f.do(cases.RoleAdmin, "PUT", "/api/v1/clock", []byte(next), &got); w.Code != http.StatusOK || got.Previous != cur.Version || got.Version == cur.Version || got.Moved != 1 {
		t.Fatalf("activate: %d %s", w.Code, w.Body)
	}
	if k, err := db.Case(ctx, open.Number); err != nil || k.DueAt == nil || !k.DueAt.Equal(time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("the open case's due date after the 12-day rule: %v %v", k.DueAt, err)
	}
	if k, err := db.Case(ctx, typed.Number); err != nil || k.DueAt == nil || !k.DueAt.Equal(*typed.DueAt) {
		t.Errorf("the typed due date moved: %v %v", k.DueAt, err)
	}
	if evs, _, err := db.AuditEvents(ctx, store.AuditFilter{Action: "case.due_at", Limit: 5}); err != nil || len(evs) != 1 || evs[0].Actor != "admin@example.org" {
		t.Errorf("the move audited: %v %v", evs, err)
	}
	if evs, _, err := db.AuditEvents(ctx, store.AuditFilter{Action: "clock.activate", Limit: 5}); err != nil || len(evs) != 1 || evs[0].Actor != "admin@example.org" {
		t.Errorf("clock.activate audited: %v %v", evs, err)
	}
	var c cases.Case
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", euProduction(""), &c); w.Code != http.StatusCreated ||
		c.DueAt == nil || !c.DueAt.Equal(time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("a new case under the 12-day rule: %d %v", w.Code, c.DueAt)
	}
	if k, err := ActiveClocks(ctx, db); err != nil || k.Version() != got.Version {
		t.Errorf("after a restart: %v %v", k, err)
	}
}
