package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// The case page marks an unknown agency in plain words and offers no number
// to call; a callback to another number than the directory's is refused on
// the form, naming the number; intake offers the directory's agencies.
func TestPortalIdentity(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	var unknown cases.Case
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", forgedRequest(t, "subpoena.json", "Springfield Police Department", "US", "chief@springfield-pd.us", "springfield-pd.us"), &unknown); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	body := p.page(cases.RoleReviewer, "GET", "/cases/"+itoa(unknown.ID), nil).Body.String()
	for _, want := range []string{"Unknown agency: “Springfield Police Department” (US) is not in the agency directory", "no number to call", "cannot be approved until"} {
		if !strings.Contains(body, want) {
			t.Errorf("unknown agency's case page lacks %q", want)
		}
	}
	em := p.create(cases.RoleIntake, "emergency.json")
	path := "/cases/" + itoa(em.ID)
	if body := p.page(cases.RoleReviewer, "GET", path, nil).Body.String(); !strings.Contains(body, "Unverified emergency") || !strings.Contains(body, `value="&#43;442072301212"`) {
		t.Errorf("emergency's case page:\n%s", body)
	}
	w := p.page(cases.RoleReviewer, "POST", path+"/verifications", url.Values{"phone": {"+447911123456"}, "outcome": {"confirmed"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "is not the directory&#39;s number") {
		t.Errorf("callback to the wrong number: %d\n%s", w.Code, w.Body)
	}
	w = p.page(cases.RoleReviewer, "POST", path+"/verifications", url.Values{"phone": {"+442072301212"}, "outcome": {"failed"}, "note": {"no such officer"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", w.Code, w.Body)
	}
	body = p.page(cases.RoleSupervisor, "GET", path+"?done=verified", nil).Body.String()
	if !strings.Contains(body, "Callback recorded.") || !strings.Contains(body, "Callback failed:") || strings.Contains(body, "Unverified emergency") {
		t.Errorf("after a failed callback:\n%s", body)
	}
	if dash := p.page(cases.RoleSupervisor, "GET", "/dashboard", nil).Body.String(); !strings.Contains(dash, "callback failed") || !strings.Contains(dash, "unknown agency") {
		t.Errorf("dashboard:\n%s", dash)
	}
	if intake := p.page(cases.RoleIntake, "GET", "/cases/new", nil).Body.String(); !strings.Contains(intake, `<datalist id="directory">`) || !strings.Contains(intake, `<option value="Federal Bureau of Investigation"`) {
		t.Errorf("intake offers no directory:\n%s", intake)
	}
}
