package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// From the portal: the dashboard warns of collection about to stop; the
// case page produces a package (intake, not auditors), lists it with its
// hash, and serves it to any reader by its recorded name only.
func TestPortalProduceAndDownload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		fixClock(p.fixture, collectNow)
		dir := t.TempDir()
		if err := p.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
			t.Fatal(err)
		}
		c := p.penRegisterCase()
		path := "/cases/" + itoa(c.ID)
		body := event("+14155550123", "+447911123456", collectNow.Add(time.Minute), "text")
		fixClock(p.fixture, collectNow.Add(time.Hour))
		if w := p.do(cases.RoleCollector, "POST", "/api/v1/collect/events", []byte(body), nil); w.Code != http.StatusOK {
			t.Fatalf("collect: %d %s", w.Code, w.Body)
		}

		// The window ends 2027-01-19: two days before, the dashboard says so.
		ws, err := metadata.New(db).Windows(ctx, c.ID)
		if err != nil || len(ws) == 0 {
			t.Fatalf("windows: %v %v", ws, err)
		}
		if w := p.page(cases.RoleAuditor, "GET", "/dashboard", nil); strings.Contains(w.Body.String(), c.Number) && strings.Contains(panel(w.Body.String(), "h-closing"), c.Number) {
			t.Errorf("collection reported closing 60 days ahead")
		}
		p.travel(ws[0].EndsAt.Add(-48 * time.Hour))
		if got := panel(p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String(), "h-closing"); !strings.Contains(got, c.Number) || !strings.Contains(got, "<td>"+strconv.Itoa(len(ws))+"</td>") {
			t.Errorf("closing panel two days before the end:\n%s", got)
		}
		p.travel(collectNow.Add(2 * time.Hour))

		if page := p.page(cases.RoleAuditor, "GET", path, nil).Body.String(); strings.Contains(page, `action="`+path+`/export"`) {
			t.Error("an auditor is offered the export button")
		}
		if w := p.page(cases.RoleAuditor, "POST", path+"/export", nil); w.Code != http.StatusForbidden {
			t.Errorf("auditor export: %d", w.Code)
		}
		page := p.page(cases.RoleIntake, "GET", path, nil).Body.String()
		if !strings.Contains(page, "Produce disclosure package") || !strings.Contains(page, "Collecting") {
			t.Fatalf("case page before export lacks the export form or the window:\n%s", panel(page, "h-packages"))
		}
		w := p.page(cases.RoleIntake, "POST", path+"/export", nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != path+"?done=exported#packages" {
			t.Fatalf("export: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
		}
		var list struct {
			Packages []struct{ Package, SHA256 string } `json:"packages"`
		}
		if w := p.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+itoa(c.ID)+"/exports", nil, &list); w.Code != http.StatusOK || len(list.Packages) != 1 {
			t.Fatalf("packages: %d %s", w.Code, w.Body)
		}
		pkg := list.Packages[0]
		page = p.page(cases.RoleAuditor, "GET", path+"?done=exported", nil).Body.String()
		for _, want := range []string{"Disclosure package produced", pkg.Package, pkg.SHA256, path + "/exports/" + pkg.Package, "Package produced</strong>"} {
			if !strings.Contains(page, want) {
				t.Errorf("case page after export lacks %q", want)
			}
		}
		dl := p.page(cases.RoleAuditor, "GET", path+"/exports/"+pkg.Package, nil)
		sum := sha256.Sum256(dl.Body.Bytes())
		if dl.Code != http.StatusOK || hex.EncodeToString(sum[:]) != pkg.SHA256 || dl.Header().Get("X-Package-SHA256") != pkg.SHA256 ||
			!strings.Contains(dl.Header().Get("Content-Disposition"), pkg.Package) {
			t.Errorf("download: %d, sha256 %x, header %q", dl.Code, sum, dl.Header().Get("X-Package-SHA256"))
		}
		for _, name := range []string{"..%2fkeys%2fsigning.key", "..%2F..%2Fgo.mod", "%2e%2e", "nope.zip"} {
			if w := p.page(cases.RoleAuditor, "GET", path+"/exports/"+name, nil); w.Code == http.StatusOK {
				t.Errorf("download %q: %d", name, w.Code)
			}
		}
		// A second production of a prospective order is allowed, and covers
		// only what is new; a retrospective case would say why not.
		if w := p.page(cases.RoleIntake, "POST", path+"/export", nil); w.Code != http.StatusSeeOther {
			t.Errorf("second production: %d", w.Code)
		}
	})
}

// A preservation hold: listed on the dashboard as it nears its end,
// extended once from the case page, refused the second time on the page.
func TestPortalPreservationHold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		fixClock(p.fixture, collectNow)
		var req map[string]any
		if err := json.Unmarshal(fixtureJSON(t, "subpoena.json"), &req); err != nil {
			t.Fatal(err)
		}
		req["process"] = map[string]any{"type": "preservation"}
		req["received_at"] = collectNow.Format(time.RFC3339)
		b, _ := json.Marshal(req)
		var c cases.Case
		if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", b, &c); w.Code != http.StatusCreated || c.Decision.PreserveUntil == nil {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		if w := p.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+itoa(c.ID)+"/approve", []byte(`{"note":"checked"}`), nil); w.Code != http.StatusOK {
			t.Fatalf("approve: %d %s", w.Code, w.Body)
		}
		path := "/cases/" + itoa(c.ID)
		p.travel(c.Decision.PreserveUntil.Add(-72 * time.Hour))
		if got := panel(p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String(), "h-expiring"); !strings.Contains(got, c.Number) {
			t.Errorf("expiring panel three days before the end:\n%s", got)
		}
		page := p.page(cases.RoleIntake, "GET", path, nil).Body.String()
		if !strings.Contains(page, "Preservation hold") || !strings.Contains(page, "Extend by 90 days") || strings.Contains(page, "Produce disclosure package") {
			t.Errorf("case page of a preservation:\n%s", panel(page, "h-preservation"))
		}
		if w := p.page(cases.RoleAuditor, "POST", path+"/preservation/extend", nil); w.Code != http.StatusForbidden {
			t.Errorf("auditor extend: %d", w.Code)
		}
		if w := p.page(cases.RoleIntake, "POST", path+"/preservation/extend", nil); w.Code != http.StatusSeeOther {
			t.Fatalf("extend: %d %s", w.Code, w.Body)
		}
		if got := panel(p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String(), "h-expiring"); strings.Contains(got, c.Number) {
			t.Errorf("extended hold still listed as ending within 14 days")
		}
		page = p.page(cases.RoleIntake, "GET", path, nil).Body.String()
		if !strings.Contains(page, "(extended by "+p.emails[cases.RoleIntake]) || strings.Contains(page, "Extend by 90 days") {
			t.Errorf("case page after the extension:\n%s", panel(page, "h-preservation"))
		}
		if w := p.page(cases.RoleIntake, "POST", path+"/preservation/extend", nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "extended") {
			t.Errorf("second extension: %d", w.Code)
		}
	})
}

// travel moves the clock to t and signs everyone in again: sessions time
// out when the clock jumps weeks ahead.
func (p *portal) travel(t time.Time) {
	p.t.Helper()
	fixClock(p.fixture, t)
	for _, r := range cases.Roles {
		u, err := p.db.UserByEmail(ctx, p.emails[r])
		if err != nil {
			p.t.Fatal(err)
		}
		if p.sessions[r], err = p.db.CreateSession(ctx, u.ID); err != nil {
			p.t.Fatal(err)
		}
	}
}

// panel cuts a page down to the section whose heading has id h.
func panel(page, h string) string {
	i := strings.Index(page, `id="`+h+`"`)
	if i < 0 {
		return ""
	}
	if j := strings.Index(page[i:], "</section>"); j >= 0 {
		return page[i : i+j]
	}
	return page[i:]
}

// A legal hold from the case page: reviewers place and release it with a
// reason (required, shown inline when missing), intake and auditors may not,
// and the page and timeline show it.
func TestPortalLegalHold(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	c := p.create(cases.RoleIntake, "subpoena.json")
	path := "/cases/" + itoa(c.ID)
	if page := p.page(cases.RoleIntake, "GET", path, nil).Body.String(); strings.Contains(page, `action="`+path+`/hold"`) {
		t.Error("intake is offered the hold form")
	}
	for _, r := range []cases.Role{cases.RoleIntake, cases.RoleAuditor} {
		if w := p.page(r, "POST", path+"/hold", url.Values{"reason": {"x"}}); w.Code != http.StatusForbidden {
			t.Errorf("%s placing a hold: %d", r, w.Code)
		}
	}
	if w := p.page(cases.RoleReviewer, "POST", path+"/hold", url.Values{"reason": {" "}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Reason is required") {
		t.Errorf("hold without a reason: %d", w.Code)
	}
	w := p.page(cases.RoleReviewer, "POST", path+"/hold", url.Values{"reason": {"Litigation <b>Doe v. State</b>"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != path+"?done=hold-placed#hold" {
		t.Fatalf("place: %d %s", w.Code, w.Body)
	}
	page := p.page(cases.RoleAuditor, "GET", path, nil).Body.String()
	for _, want := range []string{"On hold", "Litigation &lt;b&gt;Doe v. State&lt;/b&gt;", "Legal hold placed</strong>"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page on hold lacks %q", want)
		}
	}
	if w := p.page(cases.RoleReviewer, "POST", path+"/hold", url.Values{"reason": {"again"}}); w.Code != http.StatusConflict {
		t.Errorf("second hold: %d", w.Code)
	}
	if w := p.page(cases.RoleSupervisor, "POST", path+"/hold/release", url.Values{"reason": {"case settled"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("release: %d %s", w.Code, w.Body)
	}
	if page := p.page(cases.RoleAuditor, "GET", path, nil).Body.String(); strings.Contains(page, "On hold") || !strings.Contains(page, "Legal hold released</strong>") {
		t.Errorf("case page after the release")
	}
}
