package web

import (
	"bytes"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

// The admin routes: admins only, but for the agency directory and the
// policy page, which auditors may read.
var adminOnly = [][2]string{
	{"GET", "/admin/users"},
	{"POST", "/admin/users"},
	{"POST", "/admin/users/1/revoke-tokens"},
	{"POST", "/admin/users/1"},
	{"POST", "/admin/users/1/reset-password"},
	{"POST", "/admin/users/1/reset-second-factor"},
	{"POST", "/admin/users/1/time_zone"},
	{"POST", "/admin/agencies"},
	{"GET", "/admin/agencies/1"},
	{"POST", "/admin/agencies/1"},
	{"POST", "/admin/policy/replay"},
	{"POST", "/admin/policy/activate"},
	{"POST", "/admin/organisation"},
	{"GET", "/admin/settings"},
	{"POST", "/admin/settings"},
	{"GET", "/admin/sign-in"},
	{"POST", "/admin/sign-in"},
}

func TestPortalAdminRoles(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	p.create(cases.RoleIntake, "subpoena.json") // agency 1 exists
	// The table above covers every admin route the router has.
	for _, r := range portalRoutesOf(p.srv) {
		auditorsRead := r[1] == "/admin/agencies" || r[1] == "/admin/policy" ||
			r[0] == "GET" && strings.HasPrefix(r[1], "/admin/organisation")
		if strings.HasPrefix(r[1], "/admin/") && !auditorsRead && !containsRoute(adminOnly, r) {
			t.Errorf("admin route %s %s is not in the role table", r[0], r[1])
		}
	}
	for _, r := range adminOnly {
		for _, role := range cases.Roles {
			if role == cases.RoleAdmin {
				continue
			}
			var form url.Values
			if r[0] == "POST" {
				form = url.Values{"email": {"x@example.org"}, "role": {"admin"}, "name": {"X"}, "country": {"US"}}
			}
			if w := p.page(role, r[0], r[1], form); w.Code != http.StatusForbidden {
				t.Errorf("%s %s %s: %d, want 403", role, r[0], r[1], w.Code)
			}
		}
	}
	if _, err := p.db.UserByEmail(ctx, "x@example.org"); err == nil {
		t.Fatal("a forbidden request added a user")
	}
	for _, path := range []string{"/admin/agencies", "/admin/policy", "/admin/organisation"} {
		for _, role := range cases.Roles {
			want := http.StatusForbidden
			if role == cases.RoleAdmin || role == cases.RoleAuditor {
				want = http.StatusOK
			}
			if w := p.page(role, "GET", path, nil); w.Code != want {
				t.Errorf("%s GET %s: %d, want %d", role, path, w.Code, want)
			}
		}
		// Auditors read; no form that changes anything is shown to them.
		if body := p.page(cases.RoleAuditor, "GET", path, nil).Body.String(); strings.Contains(body, `method="post" action="/admin`) {
			t.Errorf("auditor sees a changing form on %s", path)
		}
		if body := p.page(cases.RoleAdmin, "GET", path, nil).Body.String(); !strings.Contains(body, `method="post" action="/admin`) {
			t.Errorf("admin sees no form on %s", path)
		}
	}
	// Navigation shows each role what it may open.
	if nav := p.page(cases.RoleAdmin, "GET", "/dashboard", nil).Body.String(); !strings.Contains(nav, `href="/admin/users"`) || !strings.Contains(nav, `href="/reports"`) {
		t.Error("admin navigation lacks the admin pages")
	}
	if nav := p.page(cases.RoleIntake, "GET", "/dashboard", nil).Body.String(); strings.Contains(nav, `href="/admin/`) {
		t.Error("intake navigation shows admin pages")
	}
	// Signed out, every admin page sends the browser to sign in.
	for _, r := range append(adminOnly, [2]string{"GET", "/admin/agencies"}, [2]string{"GET", "/admin/policy"}) {
		if w := p.page("", r[0], r[1], url.Values{}); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("signed out %s %s: %d", r[0], r[1], w.Code)
		}
	}
}

func containsRoute(list [][2]string, r [2]string) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// Cross-origin posts to the admin pages are refused before they run.
func TestPortalAdminCrossOrigin(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	listed, _ := p.db.Agencies(ctx)
	posts := map[string]url.Values{
		"/admin/users":                 {"email": {"mallory@example.org"}, "role": {"admin"}},
		"/admin/agencies":              {"name": {"Evil"}, "country": {"US"}},
		"/admin/users/1/revoke-tokens": {},
		"/admin/policy/activate":       {"source": {base64.StdEncoding.EncodeToString(policy.Default().Source())}},
	}
	for path, form := range posts {
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
			if w := p.page(cases.RoleAdmin, "POST", path, form, h...); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "another site") {
				t.Errorf("cross-origin %s with %s: %d", path, h[0], w.Code)
			}
		}
	}
	if _, err := p.db.UserByEmail(ctx, "mallory@example.org"); err == nil {
		t.Error("a cross-origin post added a user")
	}
	if list, _ := p.db.Agencies(ctx); len(list) != len(listed) {
		t.Error("a cross-origin post added an agency")
	}
	// The API token still works: nothing was revoked.
	if w := p.do(cases.RoleIntake, "GET", "/api/v1/me", nil, nil); w.Code != 200 {
		t.Errorf("token revoked by a cross-origin post: %d", w.Code)
	}
}

func TestPortalUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		admin := p.emails[cases.RoleAdmin]
		w := p.page(cases.RoleAdmin, "GET", "/admin/users", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), p.emails[cases.RoleCollector]) {
			t.Fatalf("users page: %d", w.Code)
		}
		w = p.page(cases.RoleAdmin, "POST", "/admin/users", url.Values{"email": {"New.Reviewer@Example.org"}, "role": {"reviewer"}})
		m := regexp.MustCompile(`<code id="one-time-password">([^<]+)</code>`).FindStringSubmatch(w.Body.String())
		if w.Code != 200 || m == nil {
			t.Fatalf("add user: %d\n%s", w.Code, w.Body)
		}
		// The one-time password signs in, and must be changed first.
		u, err := db.Authenticate(ctx, "new.reviewer@example.org", m[1])
		if err != nil || u.Role != cases.RoleReviewer || !u.MustChangePassword {
			t.Fatalf("sign-in with the one-time password: %+v %v", u, err)
		}
		// Shown once: the list does not show it again.
		if strings.Contains(p.page(cases.RoleAdmin, "GET", "/admin/users", nil).Body.String(), m[1]) {
			t.Error("the one-time password is shown again")
		}
		evs, _ := db.Events(ctx, "user", strconv.FormatInt(u.ID, 10))
		if len(evs) == 0 || evs[0].Action != "user.create" || evs[0].Actor != admin || strings.Contains(string(evs[0].After), m[1]) {
			t.Errorf("audit of user.create: %+v", evs)
		}

		// Errors come back on the form, with what was typed.
		w = p.page(cases.RoleAdmin, "POST", "/admin/users", url.Values{"email": {"new.reviewer@example.org"}, "role": {"reviewer"}})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "already has an account") {
			t.Errorf("duplicate: %d", w.Code)
		}
		w = p.page(cases.RoleAdmin, "POST", "/admin/users", url.Values{"email": {"not an address"}, "role": {"king"}})
		if w.Code != http.StatusBadRequest || strings.Count(w.Body.String(), `class="field-error"`) != 2 || !strings.Contains(w.Body.String(), `value="not an address"`) {
			t.Errorf("invalid: %d\n%s", w.Code, w.Body)
		}

		// Revoking a user's API tokens ends them at once.
		intake, _ := db.UserByEmail(ctx, p.emails[cases.RoleIntake])
		if w := p.do(cases.RoleIntake, "GET", "/api/v1/me", nil, nil); w.Code != 200 {
			t.Fatalf("token before: %d", w.Code)
		}
		w = p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(intake.ID)+"/revoke-tokens", url.Values{})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/users?done=tokens" {
			t.Fatalf("revoke: %d %s", w.Code, w.Header().Get("Location"))
		}
		if w := p.do(cases.RoleIntake, "GET", "/api/v1/me", nil, nil); w.Code != http.StatusUnauthorized {
			t.Errorf("token after revocation: %d", w.Code)
		}
		if !strings.Contains(p.page(cases.RoleAdmin, "GET", "/admin/users?done=tokens", nil).Body.String(), "API tokens revoked.") {
			t.Error("no confirmation")
		}
		if w := p.page(cases.RoleAdmin, "POST", "/admin/users/99999/revoke-tokens", url.Values{}); w.Code != http.StatusNotFound {
			t.Errorf("unknown user: %d", w.Code)
		}
	})
}

func TestPortalAgencies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		evil := `<script>alert("x")</script>`
		w := p.page(cases.RoleAdmin, "POST", "/admin/agencies", url.Values{"name": {evil}, "country": {"fr"}, "verified_domains": {"police.fr, Interieur.gouv.fr"}, "phone": {"+33140000001"}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/agencies?done=agency-added" {
			t.Fatalf("add: %d\n%s", w.Code, w.Body)
		}
		all, _ := db.Agencies(ctx)
		var list []*store.AgencyEntry
		for _, a := range all {
			if a.Name == evil {
				list = append(list, a)
			}
		}
		if len(list) != 1 || list[0].Name != evil || list[0].Country != "FR" || len(list[0].VerifiedDomains) != 2 || list[0].VerifiedDomains[1] != "interieur.gouv.fr" {
			t.Fatalf("stored: %+v", list)
		}
		id := itoa(list[0].ID)
		for _, role := range []cases.Role{cases.RoleAdmin, cases.RoleAuditor} {
			body := p.page(role, "GET", "/admin/agencies?done=agency-added", nil).Body.String()
			if strings.Contains(body, "<script") || !strings.Contains(body, "&lt;script&gt;") || !strings.Contains(body, "interieur.gouv.fr") {
				t.Errorf("%s: the directory does not escape the agency name", role)
			}
		}
		body := p.page(cases.RoleAdmin, "GET", "/admin/agencies/"+id, nil).Body.String()
		if strings.Contains(body, "<script") || !strings.Contains(body, `value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`) {
			t.Errorf("edit form does not escape the name:\n%s", body)
		}

		// Inline errors keep what was typed; nothing is stored.
		w = p.page(cases.RoleAdmin, "POST", "/admin/agencies/"+id, url.Values{"name": {"Police nationale"}, "country": {"UK"}, "verified_domains": {"a@police.fr"}})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `use &#34;GB&#34;`) || !strings.Contains(w.Body.String(), "is not a domain name") ||
			!strings.Contains(w.Body.String(), `value="Police nationale"`) {
			t.Fatalf("invalid edit: %d\n%s", w.Code, w.Body)
		}
		w = p.page(cases.RoleAdmin, "POST", "/admin/agencies/"+id, url.Values{"name": {"Police judiciaire"}, "country": {"FR"}, "verified_domains": {"police.fr\ninterieur.gouv.fr"}, "phone": {"+33140000001"}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%s", w.Code, w.Body)
		}
		if got, _ := db.AgencyByID(ctx, list[0].ID); got.Name != "Police judiciaire" {
			t.Errorf("after edit: %+v", got)
		}
		// A duplicate is a conflict, shown on the form.
		w = p.page(cases.RoleAdmin, "POST", "/admin/agencies", url.Values{"name": {"Police judiciaire"}, "country": {"FR"}, "verified_domains": {"pj.fr"}, "phone": {"+33140000002"}})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "already in the directory") {
			t.Errorf("duplicate: %d", w.Code)
		}
		if w := p.page(cases.RoleAdmin, "GET", "/admin/agencies/777", nil); w.Code != http.StatusNotFound {
			t.Errorf("missing agency: %d", w.Code)
		}
		evs, _ := db.Events(ctx, "agency", id)
		if len(evs) != 2 || evs[0].Actor != p.emails[cases.RoleAdmin] || evs[1].Action != "agency.update" {
			t.Errorf("audit: %+v", evs)
		}
	})
}

// policyUpload posts a policy file to the replay page as admin.
func (p *portal) policyUpload(name string, content []byte) *httptest.ResponseRecorder {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("policy", name)
	fw.Write(content)
	mw.Close()
	return p.post(cases.RoleAdmin, "/admin/policy/replay", &buf, mw.FormDataContentType())
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)

func TestPortalPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		sub := p.create(cases.RoleIntake, "subpoena.json")
		p.create(cases.RoleIntake, "pen_register.json")
		def := policy.Default()
		for _, role := range []cases.Role{cases.RoleAdmin, cases.RoleAuditor} {
			body := p.page(role, "GET", "/admin/policy", nil).Body.String()
			if !strings.Contains(body, def.Version()) || !strings.Contains(body, "US-SUBPOENA") {
				t.Errorf("%s: policy page lacks the version or source", role)
			}
		}

		// A file that does not load: the loader's problems, nothing changes.
		w := p.policyUpload("broken.yaml", []byte("version: [\nus_process: 3\n"))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "does not load") || !strings.Contains(w.Body.String(), "line ") ||
			strings.Contains(w.Body.String(), `action="/admin/policy/activate"`) {
			t.Fatalf("broken policy: %d\n%s", w.Code, w.Body)
		}
		if p.srv.Policy().Version() != def.Version() {
			t.Fatal("a broken upload changed the policy")
		}
		if w := p.policyUpload("", nil); w.Code != http.StatusBadRequest {
			t.Errorf("no file: %d", w.Code)
		}
		// The policy in force again: nothing to activate.
		if w := p.policyUpload("same.yaml", def.Source()); w.Code != 200 || !strings.Contains(w.Body.String(), "already in force") ||
			strings.Contains(w.Body.String(), `action="/admin/policy/activate"`) {
			t.Errorf("same policy: %d", w.Code)
		}

		// A wider subpoena rule: the replay shows the subpoena case gaining
		// IP logs, and nothing changes until "Activate".
		wider := []byte(strings.Replace(string(def.Source()), "allow: [basic_subscriber_info]\n    explain: >-\n      a subpoena",
			"allow: [basic_subscriber_info, ip_logs]\n    explain: >-\n      a subpoena", 1))
		np, err := policy.Load(wider)
		if err != nil || np.Version() == def.Version() {
			t.Fatalf("test policy: %v", err)
		}
		w = p.policyUpload("wider.yaml", wider)
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(body, sub.Number) || !strings.Contains(body, "+ IP logs") || !strings.Contains(body, "1 decision would change") {
			t.Fatalf("replay: %d\n%s", w.Code, body)
		}
		if p.srv.Policy().Version() != def.Version() {
			t.Fatal("the replay changed the policy")
		}
		form := url.Values{}
		for _, m := range hiddenRe.FindAllStringSubmatch(body, -1) {
			form.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
		}
		if form.Get("version") != np.Version() || form.Get("previous") != def.Version() {
			t.Fatalf("activate form: %v", form)
		}

		// A tampered file or a stale replay is refused.
		bad := url.Values{"source": {base64.StdEncoding.EncodeToString(def.Source())}, "version": {np.Version()}, "previous": {def.Version()}}
		if w := p.page(cases.RoleAdmin, "POST", "/admin/policy/activate", bad); w.Code != http.StatusBadRequest {
			t.Errorf("tampered: %d", w.Code)
		}
		stale := url.Values{"source": form["source"], "version": form["version"], "previous": {"sha256:old"}}
		if w := p.page(cases.RoleAdmin, "POST", "/admin/policy/activate", stale); w.Code != http.StatusConflict {
			t.Errorf("stale: %d", w.Code)
		}
		if p.srv.Policy().Version() != def.Version() {
			t.Fatal("a refused activation changed the policy")
		}

		w = p.page(cases.RoleAdmin, "POST", "/admin/policy/activate", form)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/policy?done=policy" {
			t.Fatalf("activate: %d\n%s", w.Code, w.Body)
		}
		if p.srv.Policy().Version() != np.Version() {
			t.Fatal("not in force")
		}
		if active, err := ActivePolicy(ctx, db); err != nil || active.Version() != np.Version() {
			t.Fatalf("not persisted: %v", err)
		}
		if !strings.Contains(p.page(cases.RoleAuditor, "GET", "/admin/policy?done=policy", nil).Body.String(), np.Version()) {
			t.Error("the page does not show the new version")
		}
		evs, _ := db.Events(ctx, "policy", "1")
		if len(evs) != 1 || evs[0].Action != "policy.activate" || evs[0].Actor != p.emails[cases.RoleAdmin] {
			t.Errorf("audit: %+v", evs)
		}
	})
}

// An admin resets the second factors of a user who lost them all: TOTP,
// passkeys and recovery codes go, the user's sessions end, the audit log
// names the admin; an admin's own are not reset from this page.
func TestPortalResetSecondFactor(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	sup, _ := p.db.UserByEmail(ctx, p.emails[cases.RoleSupervisor])
	admin, _ := p.db.UserByEmail(ctx, p.emails[cases.RoleAdmin])
	w := p.db.Writer()
	for _, q := range []string{
		"UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP', totp_enrolled_at = CURRENT_TIMESTAMP WHERE id = ?",
		"INSERT INTO recovery_codes (owner, code_hash, created_at) VALUES ('user:' || CAST(? AS TEXT), 'x', CURRENT_TIMESTAMP)",
	} {
		if _, err := w.Exec(w.Rebind(q), sup.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(admin.ID)+"/reset-second-factor", url.Values{}); got.Code != http.StatusConflict || !strings.Contains(got.Body.String(), "sign-in security page") {
		t.Errorf("own reset: %d", got.Code)
	}
	if got := p.page(cases.RoleAdmin, "GET", "/admin/users", nil); strings.Contains(got.Body.String(), "/admin/users/"+itoa(admin.ID)+"/reset-second-factor") ||
		!strings.Contains(got.Body.String(), "/admin/users/"+itoa(sup.ID)+"/reset-second-factor") {
		t.Error("the users page should offer the reset for others only")
	}
	if got := p.page(cases.RoleAdmin, "POST", "/admin/users/999/reset-second-factor", url.Values{}); got.Code != http.StatusNotFound {
		t.Errorf("unknown user: %d", got.Code)
	}
	got := p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(sup.ID)+"/reset-second-factor", url.Values{})
	if got.Code != http.StatusSeeOther || got.Header().Get("Location") != "/admin/users?done=second-factor-reset" {
		t.Fatalf("reset: %d %s", got.Code, got.Header().Get("Location"))
	}
	var totp, codes, sessions int
	r := p.db.Reader()
	r.Get(&totp, r.Rebind("SELECT COUNT(*) FROM users WHERE id = ? AND totp_enrolled_at IS NOT NULL"), sup.ID)
	r.Get(&codes, "SELECT COUNT(*) FROM recovery_codes")
	r.Get(&sessions, r.Rebind("SELECT COUNT(*) FROM sessions WHERE user_id = ? AND revoked_at IS NULL"), sup.ID)
	if totp != 0 || codes != 0 || sessions != 0 {
		t.Errorf("after the reset: %d TOTP, %d recovery codes, %d sessions", totp, codes, sessions)
	}
	if w := p.page(cases.RoleSupervisor, "GET", "/dashboard", nil); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
		t.Errorf("supervisor's session after the reset: %d %s", w.Code, w.Header().Get("Location"))
	}
	evs, _ := p.db.Events(ctx, "user", itoa(sup.ID))
	if len(evs) == 0 || evs[len(evs)-1].Action != "user.second_factor.reset" || evs[len(evs)-1].Actor != admin.Email {
		t.Errorf("audit: %+v", evs)
	}
}
