package web

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/remind"
	"envelope/cases/retention"
	"envelope/cases/store/storetest"
)

func euProduction(extra string) []byte {
	return []byte(`{"received_at":"2026-11-20T09:30:00Z","agency":{"name":"Parquet de Paris","country":"FR","verified_domains":["justice.fr"]},
		"requester":{"name":"A","email":"a@justice.fr"},
		"process":{"type":"eu_production_order","issuing_authority":"Juge d'instruction, Paris","reference":"EPOC-7","issued_at":"2026-11-19T00:00:00Z",
			"authority_role":"judge","enforcing_state_notified":true},
		"targets":[{"kind":"phone","value":"+33612345678"}],"categories":["basic_subscriber_info","ip_logs"]` + extra + `}`)
}

// Issue 15's "done when": export of a notified EU order inside the enforcing
// state's window is 409 with the date it lifts, and succeeds after it
// (fixed clock); a ground for refusal stops production for good; a
// computed deadline names its rule; Form 3 non-execution is recorded.
func TestEUEnforcingStateHold(t *testing.T) {
	db := storetest.SQLite(t)
	p := newPortal(t, db)
	f := p.fixture
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	f.srv.Now = func() time.Time { return now }
	db.Now = func() time.Time { return now }
	dir := t.TempDir()
	if err := f.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
		t.Fatal(err)
	}
	create := func(body []byte) *cases.Case {
		t.Helper()
		var c cases.Case
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", body, &c); w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+c.Number+"/approve", []byte(`{"note":""}`), nil); w.Code != http.StatusOK {
			t.Fatalf("approve: %d %s", w.Code, w.Body)
		}
		return &c
	}

	// A typed-in deadline may only shorten the legal one, with a reason.
	for field, extra := range map[string]string{
		"due_at":     `,"due_at":"2026-12-05T00:00:00Z"`,
		"due_reason": `,"due_at":"2026-11-25T00:00:00Z"`,
	} {
		var e struct{ Fields map[string]string }
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", euProduction(extra), &e); w.Code != http.StatusBadRequest || e.Fields[field] == "" {
			t.Errorf("%s: %d %s", field, w.Code, w.Body)
		}
	}

	c := create(euProduction(""))
	want := time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC)
	if c.DueAt == nil || !c.DueAt.Equal(want) || c.Deadline == nil || c.Deadline.Rule != "EU-EPOC-10D" || !strings.Contains(c.Deadline.Explain, "10 days from received_at") {
		t.Fatalf("computed deadline: %v %+v", c.DueAt, c.Deadline)
	}
	w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/export", nil, nil)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "2026-11-30T09:30:00Z") {
		t.Fatalf("export inside the window: %d %s", w.Code, w.Body)
	}
	refused := create(euProduction(""))
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+refused.Number+"/clock-events", []byte(`{"event":"eu_refusal_ground","note":"ne bis in idem"}`), nil); w.Code != http.StatusCreated {
		t.Fatalf("refusal: %d %s", w.Code, w.Body)
	}

	now = want.Add(time.Minute) // the window has passed
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/export", nil, nil); w.Code != http.StatusCreated {
		t.Fatalf("export after the window: %d %s", w.Code, w.Body)
	}
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+refused.Number+"/export", nil, nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "nothing may be produced") {
		t.Fatalf("export after a ground for refusal: %d %s", w.Code, w.Body)
	}

	// Nonsense is refused, naming the field: a deadline reset to before the
	// request was received, an event that does not exist.
	for body, field := range map[string]string{
		`{"event":"deadline_reset","due_at":"1900-01-01T00:00:00Z"}`: "due_at",
		`{"event":"nonsense"}`: "event",
	} {
		var e struct{ Fields map[string]string }
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+refused.Number+"/clock-events", []byte(body), &e); w.Code != http.StatusBadRequest || e.Fields[field] == "" || strings.Contains(e.Fields[field], "is required") {
			t.Errorf("%s: %d %s", body, w.Code, w.Body)
		}
	}

	// Form 3: a partial non-execution with its reason, recorded on the case.
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+refused.Number+"/clock-events", []byte(`{"event":"eu_non_execution","reason":"no_reason"}`), nil); w.Code != http.StatusBadRequest {
		t.Errorf("unknown Form 3 reason: %d %s", w.Code, w.Body)
	}
	var got cases.Case
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+refused.Number+"/clock-events", []byte(`{"event":"eu_non_execution","reason":"data_not_held","partial":true}`), &got); w.Code != http.StatusCreated ||
		got.NonExecution == nil || got.NonExecution.Reason != "data_not_held" || !got.NonExecution.Partial {
		t.Errorf("non-execution: %d %s", w.Code, w.Body)
	}
	var raw map[string]json.RawMessage
	f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+refused.Number, nil, &raw)
	if !strings.Contains(string(raw["clocks"]), `"blocked":true`) || !strings.Contains(string(raw["non_execution"]), "data_not_held") {
		t.Errorf("case JSON: clocks %s non_execution %s", raw["clocks"], raw["non_execution"])
	}
	page := p.page(cases.RoleAuditor, "GET", "/cases/"+itoa(refused.ID), nil).Body.String()
	for _, want := range []string{"Production held until</strong>: nothing may be produced", "EU-ENFORCING-HOLD: 10 days from received_at",
		"Response due</strong> 2026-11-30 09:30 UTC", "Partly executed</strong> (Form 3: data_not_held)", "Ground for refusal raised"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
}

// An EU emergency production order is due 8 hours after receipt and the
// dashboard shows that deadline to the hour; the enforcing state's
// notification does not hold it back.
func TestEUEmergencyDeadlineOnDashboard(t *testing.T) {
	db := storetest.SQLite(t)
	p := newPortal(t, db)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	p.srv.Now = func() time.Time { return now }
	db.Now = func() time.Time { return now }
	var c cases.Case
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", euProduction(`,"emergency":{"description":"a hostage taking","imminent_harm":true}`), &c); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if c.Deadline == nil || c.Deadline.Rule != "EU-EPOC-EMERGENCY" || !c.DueAt.Equal(time.Date(2026, 11, 20, 17, 30, 0, 0, time.UTC)) {
		t.Fatalf("deadline: %v %+v", c.DueAt, c.Deadline)
	}
	for _, d := range c.Clocks {
		if d.Clock == "hold" {
			t.Errorf("an emergency is held back: %+v", d)
		}
	}
	dash := p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String()
	i := strings.Index(dash, c.Number)
	if i < 0 || !strings.Contains(dash[i:min(len(dash), i+2000)], "2026-11-20 17:30 UTC") {
		t.Errorf("dashboard lacks the case's 8-hour deadline to the hour")
	}

	// Two hours before it, unanswered: an alert on the dashboard, and after
	// another hour untouched, escalated to the supervisors.
	now = time.Date(2026, 11, 20, 15, 45, 0, 0, time.UTC)
	r := &remind.Reminder{DB: db, Config: remind.DefaultConfig}
	if raised, _, err := r.Scan(ctx, now); err != nil || len(raised) != 1 {
		t.Fatalf("scan: %v %v", raised, err)
	}
	now = now.Add(61 * time.Minute)
	if _, escalated, err := r.Scan(ctx, now); err != nil || len(escalated) != 1 {
		t.Fatalf("escalate: %v %v", escalated, err)
	}
	dash = p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String()
	if !strings.Contains(dash, `id="h-alerts"`) || !strings.Contains(dash, c.Number+"</a>: due 2026-11-20 17:30 UTC") ||
		!strings.Contains(dash, "escalated</strong> to supervisor@example.org") {
		t.Errorf("dashboard lacks the escalated alert:\n%s", dash)
	}
}

// A preservation linked to the production order that followed it is kept
// as long as that order needs: its preserve clock has no end and a legal
// hold keeps its records from the purge.
func TestEUPreservationLinkedToProduction(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	preserve := []byte(`{"received_at":"2026-11-20T09:30:00Z","agency":{"name":"Parquet de Paris","country":"FR","verified_domains":["justice.fr"]},
		"requester":{"name":"A","email":"a@justice.fr"},
		"process":{"type":"eu_preservation_order","issuing_authority":"Parquet","reference":"EPOC-PR-1","issued_at":"2026-11-19T00:00:00Z","authority_role":"prosecutor"},
		"targets":[{"kind":"phone","value":"+33612345678"}],"categories":["basic_subscriber_info"]}`)
	var pr, prod cases.Case
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", preserve, &pr); w.Code != http.StatusCreated {
		t.Fatalf("preservation: %d %s", w.Code, w.Body)
	}
	if p := clockOf(pr.Clocks, "preserve"); p == nil || p.Rule != "EU-PRESERVATION-60D" || !p.At.Equal(time.Date(2027, 1, 19, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("preserve clock: %+v", pr.Clocks)
	}
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", euProduction(""), &prod); w.Code != http.StatusCreated {
		t.Fatal(w.Body)
	}
	link := []byte(`{"event":"eu_production_linked","production_case":"` + prod.Number + `"}`)
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+pr.Number+"/clock-events", link, nil); w.Code != http.StatusForbidden {
		t.Errorf("intake placed a hold: %d %s", w.Code, w.Body)
	}
	if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+pr.Number+"/clock-events", []byte(`{"event":"eu_production_linked","production_case":"LR-0000-000999"}`), nil); w.Code != http.StatusBadRequest {
		t.Errorf("link to no case: %d %s", w.Code, w.Body)
	}
	var got cases.Case
	if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+pr.Number+"/clock-events", link, &got); w.Code != http.StatusCreated {
		t.Fatalf("link: %d %s", w.Code, w.Body)
	}
	if p := clockOf(got.Clocks, "preserve"); p == nil || !p.OpenEnded || p.At != nil {
		t.Errorf("preserve clock after the link: %+v", p)
	}
	if h, err := retention.ActiveHold(ctx, db, pr.ID); err != nil || h == nil || !strings.Contains(h.Reason, prod.Number) {
		t.Errorf("legal hold: %+v %v", h, err)
	}
}

func clockOf(ds []cases.Deadline, name string) *cases.Deadline {
	for i := range ds {
		if ds[i].Clock == name {
			return &ds[i]
		}
	}
	return nil
}
