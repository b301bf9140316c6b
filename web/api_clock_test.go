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
func TestClockRulesAPI(t *testing.T) {
	db := storetest.SQLite(t)
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

	next := strings.Replace(string(src), "    clock: due\n    period: 10d\n", "    clock: due\n    period: 12d\n", 1)
	var got struct {
		Version  string `json:"version"`
		Previous string `json:"previous_version"`
	}
	if w := f.do(cases.RoleAdmin, "PUT", "/api/v1/clock", []byte(next), &got); w.Code != http.StatusOK || got.Previous != cur.Version || got.Version == cur.Version {
		t.Fatalf("activate: %d %s", w.Code, w.Body)
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
