package web

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
	"envelope/exporter"
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

// On the case page, intake produces a clarification request; the page
// lists it and it downloads; without questions it is refused on the page;
// an auditor sees the list but no form.
func TestPortalLetters(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	dir := t.TempDir()
	if err := p.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
		t.Fatal(err)
	}
	if err := p.db.SetOrg(ctx, "test", &cases.Org{LegalName: "Example Messaging, Inc.", Address: "1 Main St",
		ContactEmail: "lers@example.com", CustodianName: "Jordan Lee", CustodianTitle: "Custodian of Records"}); err != nil {
		t.Fatal(err)
	}
	c := p.create(cases.RoleIntake, "subpoena.json")
	path := fmt.Sprintf("/cases/%d", c.ID)
	if w := p.page(cases.RoleIntake, "POST", path+"/letters", url.Values{"kind": {"clarification"}}); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), "at least one question") {
		t.Errorf("no question: %d", w.Code)
	}
	w := p.page(cases.RoleIntake, "POST", path+"/letters", url.Values{"kind": {"clarification"}, "questions": {"Which period?\n\nWhich account?"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("produce: %d %s", w.Code, w.Body)
	}
	body := p.page(cases.RoleAuditor, "GET", path, nil).Body.String()
	if !strings.Contains(body, "Clarification request</a>") || strings.Contains(body, `action="`+path+`/letters"`) {
		t.Errorf("auditor's case page:\n%s", body)
	}
	list, _ := exporter.ListLetters(ctx, p.db, c.ID)
	if len(list) != 1 {
		t.Fatalf("letters: %v", list)
	}
	if w := p.page(cases.RoleAuditor, "GET", path+"/letters/"+list[0].FileName, nil); w.Code != 200 || w.Header().Get("Content-Type") != "application/zip" {
		t.Errorf("download: %d", w.Code)
	}
}
