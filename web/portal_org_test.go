package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// orgForm posts the profile form as role, with a logo file if logo is set.
func (p *portal) orgForm(role cases.Role, fields map[string]string, logo []byte) int {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if logo != nil {
		fw, _ := mw.CreateFormFile("logo", "logo.png")
		fw.Write(logo)
	}
	mw.Close()
	return p.post(role, "/admin/organisation", &buf, mw.FormDataContentType()).Code
}

// An admin fills the profile on its page, logo and all; bad input is
// refused naming the field, and saves nothing; an auditor reads the page
// but cannot save it; intake cannot see it.
func TestPortalOrganisation(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	if w := p.page(cases.RoleAdmin, "GET", "/admin/organisation", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "No profile has been saved yet") {
		t.Fatalf("empty profile page: %d", w.Code)
	}
	good := map[string]string{"legal_name": "Example Messaging, Inc.", "address": "1 Main St\nPalo Alto, CA 94301",
		"contact_email": "lers@example.com", "custodian_name": "Jordan Lee", "custodian_title": "Custodian of Records",
		"typed_signature": "/s/ Jordan Lee", "letter_countries": "US, CA, mx"}
	bad := map[string]string{"legal_name": "Example", "contact_email": "nope"}
	if code := p.orgForm(cases.RoleAdmin, bad, []byte("GIF89a")); code != http.StatusBadRequest {
		t.Errorf("bad profile: %d", code)
	}
	if _, ok, _ := p.db.Org(ctx); ok {
		t.Fatal("a bad profile was saved")
	}
	if code := p.orgForm(cases.RoleAuditor, good, nil); code != http.StatusForbidden {
		t.Errorf("auditor saved: %d", code)
	}
	logo := []byte("\x89PNG\r\n\x1a\nlogo")
	if code := p.orgForm(cases.RoleAdmin, good, logo); code != http.StatusSeeOther {
		t.Fatalf("save: %d", code)
	}
	o, ok, _ := p.db.Org(ctx)
	if !ok || o.CustodianName != "Jordan Lee" || string(o.Logo) != string(logo) || o.Paper("MX") != "Letter" {
		t.Fatalf("saved: %+v", o)
	}
	// Saving again without a file keeps the logo.
	if code := p.orgForm(cases.RoleAdmin, good, nil); code != http.StatusSeeOther {
		t.Fatalf("save again: %d", code)
	}
	if o, _, _ := p.db.Org(ctx); string(o.Logo) != string(logo) {
		t.Error("the logo was lost")
	}
	body := p.page(cases.RoleAuditor, "GET", "/admin/organisation", nil).Body.String()
	if !strings.Contains(body, "Jordan Lee") || !strings.Contains(body, `src="/admin/organisation/logo"`) {
		t.Errorf("auditor's view:\n%s", body)
	}
	if w := p.page(cases.RoleAuditor, "GET", "/admin/organisation/logo", nil); w.Code != 200 || w.Header().Get("Content-Type") != "image/png" {
		t.Errorf("logo: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if w := p.page(cases.RoleIntake, "GET", "/admin/organisation", nil); w.Code != http.StatusForbidden {
		t.Errorf("intake: %d", w.Code)
	}
}
