package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// request builds a request from a fixture with the agency and requester
// email an attacker chose, claiming domains as verified.
func forgedRequest(t *testing.T, fixture, name, country, email string, claimed ...string) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(fixtureJSON(t, fixture), &req); err != nil {
		t.Fatal(err)
	}
	req["agency"] = map[string]any{"name": name, "country": country, "verified_domains": claimed}
	req["requester"].(map[string]any)["email"] = email
	b, _ := json.Marshal(req)
	return b
}

func hasFinding(d *cases.Decision, rule string) bool {
	return d != nil && slices.ContainsFunc(d.Findings, func(f cases.Finding) bool { return f.Rule == rule && f.Severity == cases.SeverityReview })
}

// directorySnapshot is the directory as the API lists it, byte for byte.
func directorySnapshot(t *testing.T, f *fixture) string {
	t.Helper()
	w := f.do(cases.RoleAuditor, "GET", "/api/v1/agencies", nil, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("list agencies: %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// The attacks of issue 12, tried as an attacker would: each ends in
// needs_review with the finding that names what is wrong, cannot be
// approved without a confirmed callback recorded by a second person, and
// leaves the directory byte for byte as it was.
func TestForgedRequestsNeedReviewAndCallback(t *testing.T) {
	const metPhone = "+442072301212"
	attacks := []struct {
		what, fixture, name, country, email string
		claimed                             []string
		rule                                string // the finding it must get
	}{
		{"trailing period", "emergency.json", "Metropolitan Police Service.", "GB", "dsgt@met-police.uk.com", []string{"met-police.uk.com"}, cases.RuleRequester},
		{"zero-width space", "emergency.json", "Metropolitan\u200b Police Service", "GB", "dsgt@metpolice-uk.com", []string{"metpolice-uk.com"}, cases.RuleRequester},
		{"NBSP", "emergency.json", "Metropolitan\u00a0Police Service", "GB", "dsgt@metpolice-uk.com", []string{"metpolice-uk.com"}, cases.RuleRequester},
		{"bidi override", "emergency.json", "\u202eMetropolitan Police Service\u202c", "GB", "dsgt@metpolice-uk.com", []string{"metpolice-uk.com"}, cases.RuleRequester},
		{"Cyrillic е", "emergency.json", "Metropolitan Police S\u0435rvice", "GB", "dsgt@metpolice-uk.com", []string{"metpolice-uk.com"}, cases.RuleAgencyLookalike},
		{"mixed scripts", "emergency.json", "\u041C\u0435tr\u043Ep\u043Elitan P\u043Elice Service", "GB", "dsgt@met.police.uk", []string{"met.police.uk"}, cases.RuleAgencyLookalike},
		{"claimed domain, trailing dot", "emergency.json", "Metropolitan Police Service", "GB", "dsgt@met-police.uk", []string{"met-police.uk."}, cases.RuleRequester},
		{"claimed domain, upper case", "emergency.json", "Metropolitan Police Service", "GB", "DSGT@MET-POLICE.UK", []string{"MET-POLICE.UK"}, cases.RuleRequester},
		{"directory domain as a prefix", "emergency.json", "Metropolitan Police Service", "GB", "dsgt@met.police.uk.evil.com", []string{"met.police.uk.evil.com"}, cases.RuleRequester},
		{"IDN homograph domain", "subpoena.json", "Federal Bureau of Investigation", "US", "agent@fb\u0456.gov", []string{"fb\u0456.gov"}, cases.RuleRequester},
		{"look-alike domain", "subpoena.json", "Federal Bureau of Investigation", "US", "agent@fbi-gov.us", []string{"fbi-gov.us"}, cases.RuleRequester},
		{"clerk typed gmail.com as verified", "subpoena.json", "Federal Bureau of Investigation", "US", "fbi.agent.urgent@gmail.com", []string{"gmail.com"}, cases.RuleRequester},
		{"unknown agency, forged subpoena", "subpoena.json", "Springfield Police Department", "US", "chief@springfield-pd.us", []string{"springfield-pd.us"}, cases.RuleAgencyUnknown},
		{"unknown agency claiming a domain", "emergency.json", "Homeland Security Investigations", "US", "agent@hsi-gov.us", []string{"hsi-gov.us"}, cases.RuleAgencyUnknown},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		before := directorySnapshot(t, f)
		for _, a := range attacks {
			body := forgedRequest(t, a.fixture, a.name, a.country, a.email, a.claimed...)
			var dec cases.Decision
			if w := f.do(cases.RoleIntake, "POST", "/api/v1/policy/check", body, &dec); w.Code != http.StatusOK || !hasFinding(&dec, a.rule) {
				t.Errorf("%s: policy check %d: %+v", a.what, w.Code, dec.Findings)
			}
			var kase cases.Case
			if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", body, &kase); w.Code != http.StatusCreated {
				t.Fatalf("%s: create: %d %s", a.what, w.Code, w.Body)
			}
			if kase.Decision.Outcome != cases.OutcomeNeedsReview || !hasFinding(kase.Decision, a.rule) {
				t.Errorf("%s: %s with %+v, want needs_review with %s", a.what, kase.Decision.Outcome, kase.Decision.Findings, a.rule)
			}
			// What the request claimed is kept as claimed, and trusted nowhere.
			if got := kase.Agency.VerifiedDomains; !slices.EqualFunc(got, a.claimed, strings.EqualFold) {
				t.Errorf("%s: stored claimed domains %v, want %v", a.what, got, a.claimed)
			}
			path := "/api/v1/cases/" + kase.Number
			approve := func(role cases.Role) *httpResult {
				w := f.do(role, "POST", path+"/approve", []byte(`{"note": "the agency confirmed it"}`), nil)
				return &httpResult{w.Code, w.Body.String()}
			}
			if r := approve(cases.RoleSupervisor); r.code != http.StatusConflict || !strings.Contains(r.body, "confirmed callback") {
				t.Errorf("%s: approval without a callback: %d %s", a.what, r.code, r.body)
			}
			// The approver's own callback does not count. Unknown agencies
			// have no number to call until an admin lists them.
			var cb struct{ Fields map[string]string }
			w := f.do(cases.RoleSupervisor, "POST", path+"/verifications", []byte(`{"method":"callback","phone":"`+metPhone+`","outcome":"confirmed","note":"spoke to the duty officer"}`), &cb)
			switch {
			case a.rule == cases.RuleAgencyUnknown:
				if w.Code != http.StatusBadRequest || cb.Fields["phone"] == "" {
					t.Errorf("%s: callback for an unknown agency: %d %s", a.what, w.Code, w.Body)
				}
			case a.country == "GB":
				if w.Code != http.StatusCreated {
					t.Fatalf("%s: callback: %d %s", a.what, w.Code, w.Body)
				}
				if r := approve(cases.RoleSupervisor); r.code != http.StatusConflict || !strings.Contains(r.body, "other than you") {
					t.Errorf("%s: approval on the approver's own callback: %d %s", a.what, r.code, r.body)
				}
			}
			var got cases.Case
			f.do(cases.RoleAuditor, "GET", path, nil, &got)
			if got.Status != cases.StatusReceived {
				t.Errorf("%s: case is %s", a.what, got.Status)
			}
			if after := directorySnapshot(t, f); after != before {
				t.Fatalf("%s changed the directory:\n%s\nwas\n%s", a.what, after, before)
			}
		}

		// The genuine agency still passes: the directory's domain, in any
		// case and with a trailing dot, and its subdomains.
		for _, email := range []string{"dreyes@fbi.gov", "DREYES@FBI.GOV", "dreyes@field.ic.fbi.gov"} {
			var kase cases.Case
			f.do(cases.RoleIntake, "POST", "/api/v1/cases", forgedRequest(t, "subpoena.json", "Federal Bureau of Investigation", "US", email, "evil.example"), &kase)
			if kase.Decision == nil || len(cases.IdentityDoubts(&kase)) > 0 || kase.Decision.Outcome == cases.OutcomeNeedsReview {
				t.Errorf("genuine %s: %+v", email, kase.Decision)
			}
		}
		// An unknown agency's domains enter the directory only when an
		// admin lists it; then its genuine requests pass.
		var e store.AgencyEntry
		if w := f.do(cases.RoleAdmin, "POST", "/api/v1/agencies", []byte(`{"name":"Homeland Security Investigations","country":"US","domains":["ice.dhs.gov"],"phone":"+18663472423"}`), &e); w.Code != http.StatusCreated || e.ID == 0 {
			t.Fatalf("admin lists HSI: %d %s", w.Code, w.Body)
		}
		var kase cases.Case
		f.do(cases.RoleIntake, "POST", "/api/v1/cases", forgedRequest(t, "subpoena.json", "Homeland Security Investigations", "US", "agent@ice.dhs.gov"), &kase)
		if len(cases.IdentityDoubts(&kase)) > 0 {
			t.Errorf("genuine HSI request after listing: %+v", kase.Decision.Findings)
		}
	})
}

type httpResult struct {
	code int
	body string
}

// The forged-emergency path of issue 12 end to end through the API: logged,
// findings shown, approval refused, a callback to the wrong number refused,
// a confirmed callback recorded by a second user, approval, export.
func TestForgedEmergencyPathAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		now := time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC)
		f.srv.Now = func() time.Time { return now }
		db.Now = func() time.Time { return now }
		dir := t.TempDir()
		if err := f.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
			t.Fatal(err)
		}
		var kase cases.Case
		body := forgedRequest(t, "emergency.json", "Metropolitan Police S\u0435rvice", "GB", "alex.morgan@met-police.uk.com", "met-police.uk.com")
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", body, &kase); w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		path := "/api/v1/cases/" + kase.Number
		var shown cases.Case
		f.do(cases.RoleSupervisor, "GET", path, nil, &shown)
		if !hasFinding(shown.Decision, cases.RuleAgencyLookalike) || shown.AgencyMatch == nil || shown.AgencyMatch.Kind != cases.AgencyLookalike ||
			shown.AgencyMatch.Name != "Metropolitan Police Service" || shown.AgencyMatch.Phone != "+442072301212" {
			t.Fatalf("case as shown: %+v %+v", shown.Decision.Findings, shown.AgencyMatch)
		}
		if w := f.do(cases.RoleSupervisor, "POST", path+"/approve", []byte(`{"note":"urgent"}`), nil); w.Code != http.StatusConflict ||
			!strings.Contains(w.Body.String(), "an emergency request") || !strings.Contains(w.Body.String(), cases.RuleAgencyLookalike) {
			t.Fatalf("approval before a callback: %d %s", w.Code, w.Body)
		}
		// Bad verifications: nothing is written.
		var e struct {
			Fields map[string]string `json:"fields"`
		}
		if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/999999/verifications", []byte(`{"method":"callback","phone":"+442072301212","outcome":"confirmed"}`), nil); w.Code != http.StatusNotFound {
			t.Errorf("unknown case: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleReviewer, "POST", path+"/verifications", []byte(`{"method":"callback","phone":"+447911123456","outcome":"confirmed"}`), &e); w.Code != http.StatusBadRequest || e.Fields["phone"] == "" {
			t.Errorf("the request's number: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleReviewer, "POST", path+"/verifications", []byte(`{"method":"email","phone":"+442072301212","outcome":"maybe"}`), &e); w.Code != http.StatusBadRequest || e.Fields["method"] == "" || e.Fields["outcome"] == "" {
			t.Errorf("bad method and outcome: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleAuditor, "POST", path+"/verifications", []byte(`{"method":"callback","phone":"+442072301212","outcome":"confirmed"}`), nil); w.Code != http.StatusForbidden {
			t.Errorf("auditor: %d", w.Code)
		}
		f.do(cases.RoleAuditor, "GET", path, nil, &shown)
		if len(shown.Verifications) != 0 {
			t.Fatalf("a refused verification was stored: %+v", shown.Verifications)
		}
		// A second user calls the directory's number (typed as the
		// directory page shows it, with spaces); the agency confirms.
		var rec cases.Verification
		if w := f.do(cases.RoleReviewer, "POST", path+"/verifications", []byte(`{"method":"callback","phone":"+44 20 7230 1212","outcome":"confirmed","note":"DS Morgan confirmed on the switchboard"}`), &rec); w.Code != http.StatusCreated || rec.Phone != "+442072301212" {
			t.Fatalf("callback: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleSupervisor, "POST", path+"/approve", []byte(`{"note":"confirmed by callback"}`), nil); w.Code != http.StatusOK {
			t.Fatalf("approval after the callback: %d %s", w.Code, w.Body)
		}
		var ans struct{ Package string }
		if w := f.do(cases.RoleIntake, "POST", path+"/export", nil, &ans); w.Code != http.StatusCreated || ans.Package == "" {
			t.Fatalf("export: %d %s", w.Code, w.Body)
		}
		// The timeline shows who logged, who called back and who approved.
		var evs struct{ Events []cases.Event }
		f.do(cases.RoleAuditor, "GET", path+"/events", nil, &evs)
		who := map[string]string{}
		for _, ev := range evs.Events {
			who[ev.Action] = ev.Actor
		}
		if who["case.create"] != f.emails[cases.RoleIntake] || who["case.verify"] != f.emails[cases.RoleReviewer] || who["case.approve"] != f.emails[cases.RoleSupervisor] {
			t.Errorf("timeline: %v", who)
		}
	})
}

// A failed callback flags the case: no one can approve it afterwards, even
// with a confirmed callback recorded later.
func TestFailedCallbackBlocksApproval(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	kase := f.create(cases.RoleIntake, "emergency.json")
	path := "/api/v1/cases/" + kase.Number
	for _, outcome := range []string{"failed", "confirmed"} {
		if w := f.do(cases.RoleReviewer, "POST", path+"/verifications", []byte(`{"method":"callback","phone":"+442072301212","outcome":"`+outcome+`","note":"no such officer"}`), nil); w.Code != http.StatusCreated {
			t.Fatalf("%s: %d %s", outcome, w.Code, w.Body)
		}
	}
	if w := f.do(cases.RoleSupervisor, "POST", path+"/approve", []byte(`{"note":"x"}`), nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "failed") {
		t.Errorf("approval after a failed callback: %d %s", w.Code, w.Body)
	}
	// Rejecting stays possible.
	if w := f.do(cases.RoleSupervisor, "POST", path+"/reject", []byte(`{"reason":"forged"}`), nil); w.Code != http.StatusOK {
		t.Errorf("reject: %d %s", w.Code, w.Body)
	}
}

// The directory's API refuses bad entries naming the field, writing nothing.
func TestAgencyAPI(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	before := directorySnapshot(t, f)
	for _, tc := range []struct{ body, field string }{
		{`{"name":"X Police","country":"US","domains":["not a domain"],"phone":"+12025550100"}`, "domains"},
		{`{"name":"X Police","country":"US","verified_domains":["not a domain"],"phone":"+12025550100"}`, "verified_domains"},
		// No agency writes from a public webmail provider or a public suffix.
		{`{"name":"X Police","country":"US","domains":["GMail.com"],"phone":"+12025550100"}`, "domains"},
		{`{"name":"X Police","country":"GB","domains":["co.uk"],"phone":"+442072301212"}`, "domains"},
		{`{"name":"X Police","country":"US","domains":["x.gov"],"phone":"555-0100"}`, "phone"},
		{`{"name":"X Police","country":"US","domains":["x.gov"]}`, "phone"},
		{`{"name":"X Police","country":"US","phone":"+12025550100"}`, "domains"},
		{`{"name":"","country":"US","domains":["x.gov"],"phone":"+12025550100"}`, "name"},
		{`{"name":"X Police","country":"UK","domains":["x.gov"],"phone":"+12025550100"}`, "country"},
	} {
		var e struct{ Fields map[string]string }
		if w := f.do(cases.RoleAdmin, "POST", "/api/v1/agencies", []byte(tc.body), &e); w.Code != http.StatusBadRequest || e.Fields[tc.field] == "" {
			t.Errorf("%s: %d %v", tc.body, w.Code, e.Fields)
		}
	}
	// An entry with the folded name of another is a conflict.
	if w := f.do(cases.RoleAdmin, "POST", "/api/v1/agencies", []byte(`{"name":"federal bureau of investigation.","country":"US","domains":["x.gov"],"phone":"+12025550100"}`), nil); w.Code != http.StatusConflict {
		t.Errorf("duplicate by folding: %d %s", w.Code, w.Body)
	}
	if w := f.do(cases.RoleSupervisor, "POST", "/api/v1/agencies", []byte(`{"name":"X","country":"US","domains":["x.gov"],"phone":"+12025550100"}`), nil); w.Code != http.StatusForbidden {
		t.Errorf("supervisor adding an agency: %d", w.Code)
	}
	if after := directorySnapshot(t, f); after != before {
		t.Errorf("refused entries changed the directory")
	}
	var e store.AgencyEntry
	if w := f.do(cases.RoleAdmin, "POST", "/api/v1/agencies", []byte(`{"name":"Springfield Police Department","country":"us","domains":["Springfield.GOV."],"phone":"+12175550100","aliases":["SPD"]}`), &e); w.Code != http.StatusCreated ||
		e.Country != "US" || !slices.Equal(e.VerifiedDomains, []string{"springfield.gov"}) || e.VerifiedBy != f.emails[cases.RoleAdmin] || e.VerifiedAt == nil {
		t.Errorf("create: %d %+v", w.Code, e)
	}
	if !bytes.Contains([]byte(directorySnapshot(t, f)), []byte("Springfield Police Department")) {
		t.Error("the new entry is not listed")
	}
}

// received_at in the future, or years before the agency first wrote, is a
// field error at intake, and nothing is logged.
func TestIntakeRefusesImplausibleReceipt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		f.srv.Now = func() time.Time { return now }
		f.create(cases.RoleIntake, "subpoena.json") // the agency's first request: 2026-11-20
		at := func(received string) []byte {
			var req map[string]any
			json.Unmarshal(fixtureJSON(t, "subpoena.json"), &req)
			req["received_at"] = received
			b, _ := json.Marshal(req)
			return b
		}
		for _, received := range []string{"2026-11-21T12:10:00Z", "2027-11-21T12:00:00Z", "2021-01-01T00:00:00Z"} {
			var e struct{ Fields map[string]string }
			if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", at(received), &e); w.Code != http.StatusBadRequest || e.Fields["received_at"] == "" {
				t.Errorf("received_at %s: %d %v", received, w.Code, e.Fields)
			}
		}
		for _, received := range []string{"2026-11-21T12:04:00Z", "2025-06-01T00:00:00Z"} { // clock skew; a year back
			if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", at(received), nil); w.Code != http.StatusCreated {
				t.Errorf("received_at %s: %d %s", received, w.Code, w.Body)
			}
		}
		var page struct{ Cases []cases.Case }
		f.do(cases.RoleAuditor, "GET", "/api/v1/cases", nil, &page)
		if len(page.Cases) != 3 {
			t.Errorf("%d cases logged, want 3", len(page.Cases))
		}
	})
}

// The one-admin attack of issue 12 through the portal and the API: admin
// adds sup4 (so knows its one-time password) and tries to make itself a
// supervisor (refused, 409 on the users page); made one by another admin,
// it still cannot approve a forged emergency on the callback sup4 recorded:
// the two accounts are one person. An independent supervisor can.
func TestOneAdminCannotApproveAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		if w := p.page(cases.RoleAdmin, "POST", "/admin/users", url.Values{"email": {"sup4@example.org"}, "role": {"supervisor"}}); w.Code != http.StatusOK {
			t.Fatalf("add sup4: %d %s", w.Code, w.Body)
		}
		admin, _ := db.UserByEmail(ctx, p.emails[cases.RoleAdmin])
		if _, _, err := db.CreateUser(ctx, "test", "admin2@example.org", cases.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		w := p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(admin.ID), url.Values{"role": {"supervisor"}, "state": {"active"}})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "own role") {
			t.Errorf("admin making itself a supervisor: %d %s", w.Code, w.Body)
		}
		if u, _ := db.UserByEmail(ctx, admin.Email); u.Role != cases.RoleAdmin {
			t.Fatalf("the refused change was written: %s", u.Role)
		}
		if _, err := db.UpdateUser(ctx, "admin2@example.org", admin.ID, cases.RoleSupervisor, false); err != nil {
			t.Fatal(err)
		}
		tok, err := db.CreateToken(ctx, "test", "sup4@example.org")
		if err != nil {
			t.Fatal(err)
		}
		p.tokens["sup4"] = tok

		var kase cases.Case
		body := forgedRequest(t, "emergency.json", "Metropolitan Police S\u0435rvice", "GB", "alex.morgan@met-police.uk.com", "met-police.uk.com")
		if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", body, &kase); w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		path := "/api/v1/cases/" + kase.Number
		if w := p.do("sup4", "POST", path+"/verifications", []byte(`{"method":"callback","phone":"+442072301212","outcome":"confirmed"}`), nil); w.Code != http.StatusCreated {
			t.Fatalf("sup4's callback: %d %s", w.Code, w.Body)
		}
		if w := p.do(cases.RoleAdmin, "POST", path+"/approve", []byte(`{"note":"confirmed"}`), nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "independent") {
			t.Errorf("the admin approving on its own account's callback: %d %s", w.Code, w.Body)
		}
		if w := p.do(cases.RoleSupervisor, "POST", path+"/approve", []byte(`{"note":"confirmed"}`), nil); w.Code != http.StatusOK {
			t.Errorf("an independent supervisor: %d %s", w.Code, w.Body)
		}
	})
}
