package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// An approved preservation request has no deadline left: it leaves the
// overdue panel, where a received one past its due date stays.
func TestOverduePanelLeavesApprovedPreservation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		fixClock(p.fixture, collectNow)
		var req map[string]any
		if err := json.Unmarshal(fixtureJSON(t, "subpoena.json"), &req); err != nil {
			t.Fatal(err)
		}
		req["process"] = map[string]any{"type": "preservation"}
		req["received_at"] = collectNow.Add(-72 * time.Hour).Format(time.RFC3339)
		req["due_at"] = collectNow.Add(-time.Hour).Format(time.RFC3339)
		b, _ := json.Marshal(req)
		var pres, other cases.Case
		for _, c := range []*cases.Case{&pres, &other} {
			if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", b, c); w.Code != http.StatusCreated {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
		}
		if got := panel(p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String(), "h-overdue"); !strings.Contains(got, pres.Number) {
			t.Fatalf("a received overdue preservation is not in the overdue panel:\n%s", got)
		}
		if w := p.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+itoa(pres.ID)+"/approve", []byte(`{"note":"checked"}`), nil); w.Code != http.StatusOK {
			t.Fatalf("approve: %d %s", w.Code, w.Body)
		}
		got := panel(p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String(), "h-overdue")
		if strings.Contains(got, pres.Number) || !strings.Contains(got, other.Number) {
			t.Errorf("overdue panel after approving the preservation (want only %s):\n%s", other.Number, got)
		}
	})
}

// The API's case-work routes refuse bad input with the field named, and a
// state that forbids the change with 409; nothing is written.
func TestAPICaseworkRefusals(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	c := f.create(cases.RoleIntake, "subpoena.json")
	path := "/api/v1/cases/" + c.Number
	for _, call := range []struct {
		role   cases.Role
		route  string
		body   string
		status int
		field  string
	}{
		{cases.RoleReviewer, "/shape", `{"window":{"from":"2025-01-01T00:00:00Z","to":"2026-07-01T00:00:00Z"},"reason":"r"}`, 400, "window"},
		{cases.RoleReviewer, "/shape", `{"categories":["message_content"],"reason":"r"}`, 400, "categories[0]"},
		{cases.RoleReviewer, "/targets/decide", `{"value":"+15550000000","produce":false,"reason":"not ours"}`, 400, "targets[0].value"},
		{cases.RoleIntake, "/close", `{}`, 400, "reason"},
		{cases.RoleIntake, "/clarification/answer", `{"answer":"x"}`, 409, ""},
		{cases.RoleSupervisor, "/reopen", `{"reason":"x"}`, 409, ""},
		{cases.RoleReviewer, "/end", `{"result":"refused","reason":"because"}`, 400, "reason"},
	} {
		var e struct {
			Fields map[string]string `json:"fields"`
		}
		w := f.do(call.role, "POST", path+call.route, []byte(call.body), &e)
		if w.Code != call.status || (call.field != "" && e.Fields[call.field] == "") {
			t.Errorf("%s %s: %d %s, want %d naming %q", call.route, call.body, w.Code, w.Body, call.status, call.field)
		}
	}
	got, err := f.db.Case(ctx, c.Number)
	if err != nil || got.Shape != nil || got.Status != cases.StatusReceived {
		t.Errorf("a refused change wrote: %+v %v", got, err)
	}
	if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases?q="+strings.Repeat("4", 10000), nil, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"q"`) {
		t.Errorf("a search of 10,000 characters: %d %s", w.Code, w.Body.String()[:min(200, w.Body.Len())])
	}
	var wl struct {
		Workload []struct {
			Assignee string `json:"assignee"`
			Open     int    `json:"open"`
		} `json:"workload"`
	}
	if w := f.do(cases.RoleAuditor, "GET", "/api/v1/workload", nil, &wl); w.Code != http.StatusOK || len(wl.Workload) != 1 || wl.Workload[0].Open != 1 {
		t.Errorf("workload: %d %s", w.Code, w.Body)
	}
}

// The case page and the intake's check show the other cases naming the
// same account or reference.
func TestPortalDuplicates(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	first := p.create(cases.RoleIntake, "subpoena.json")
	second := p.create(cases.RoleIntake, "subpoena.json")
	page := p.page(cases.RoleAuditor, "GET", "/cases/"+itoa(second.ID), nil).Body.String()
	if !strings.Contains(page, "The same account or reference is in 1 other case(s)") || !strings.Contains(page, first.Number) {
		t.Errorf("case page lacks the duplicate %s", first.Number)
	}
	var dup struct {
		Related []struct {
			Number string   `json:"number"`
			Shares []string `json:"shares"`
		} `json:"related"`
	}
	if w := p.do(cases.RoleIntake, "GET", "/api/v1/duplicates?target=acc_9f8e7d6c", nil, &dup); w.Code != http.StatusOK || len(dup.Related) != 2 {
		t.Errorf("duplicates: %d %s", w.Code, w.Body)
	}
}
