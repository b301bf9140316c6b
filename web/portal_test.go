package web

import (
	"bytes"
	"crypto/tls"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

const portalPassword = "portal test password"

// portal is a fixture with a signed-in session per role.
type portal struct {
	*fixture
	sessions map[cases.Role]string
}

func newPortal(t *testing.T, db *store.DB) *portal {
	t.Helper()
	p := &portal{fixture: newFixture(t, db), sessions: map[cases.Role]string{}}
	for _, r := range cases.Roles {
		u, err := db.UserByEmail(ctx, p.emails[r])
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetPassword(ctx, "test", u.Email, portalPassword, false); err != nil {
			t.Fatal(err)
		}
		if p.sessions[r], err = db.CreateSession(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// page sends a portal request as role ("" for signed out); a non-nil form
// is posted url-encoded. Extra headers come as name, value pairs.
func (p *portal) page(role cases.Role, method, path string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	p.t.Helper()
	session := ""
	if role != "" {
		session = p.sessions[role]
	}
	return sendPage(p.srv, session, method, path, form, headers...)
}

// sendPage sends one portal request with session ("" for none).
func sendPage(srv *Server, session, method, path string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: session})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w
}

// portalRoutes lists the portal's routes from the router, so a new route
// cannot escape these tests.
func portalRoutesOf(s *Server) [][2]string {
	var out [][2]string
	for _, r := range s.Engine().Routes() {
		// The agency portal has its own sign-in and gate (agency_portal_test.go).
		if strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/static") || r.Path == "/healthz" || r.Path == "/readyz" || r.Path == "/metrics" || strings.HasPrefix(r.Path, "/agency") {
			continue
		}
		out = append(out, [2]string{r.Method, strings.ReplaceAll(r.Path, ":id", "1")})
	}
	return out
}

func TestPortalSignedOutRedirectsToLogin(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	p.create(cases.RoleIntake, "subpoena.json")
	routes := portalRoutesOf(p.srv)
	if len(routes) < 12 {
		t.Fatalf("only %d portal routes found", len(routes))
	}
	for _, r := range routes {
		method, path := r[0], r[1]
		if path == "/login" || path == "/" {
			continue
		}
		var form url.Values
		if method == "POST" {
			form = url.Values{"note": {"x"}}
		}
		w := p.page("", method, path, form)
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("signed out %s %s: %d %s", method, path, w.Code, w.Header().Get("Location"))
		}
		// A forged or stale cookie is the same as none.
		req := httptest.NewRequest(method, path, nil)
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "forged"})
		rec := httptest.NewRecorder()
		p.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
			t.Errorf("forged cookie %s %s: %d", method, path, rec.Code)
		}
	}
	if loc := p.page("", "GET", "/cases?status=received", nil).Header().Get("Location"); loc != "/login?next="+url.QueryEscape("/cases?status=received") {
		t.Errorf("next: %s", loc)
	}
}

// Auditors read everything and change nothing: every state-changing portal
// route (but their own sign-out, password and time zone) answers 403.
func TestPortalRoles(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	c := p.create(cases.RoleIntake, "subpoena.json")
	id := itoa(c.ID)
	for _, r := range portalRoutesOf(p.srv) {
		method, path := r[0], r[1]
		if method != "POST" || path == "/login" || path == "/logout" || path == "/password" || path == "/profile" ||
			strings.HasPrefix(path, "/login/") || strings.HasPrefix(path, "/account/security") { // their own sign-in
			continue
		}
		w := p.page(cases.RoleAuditor, method, path, url.Values{"note": {"x"}, "verdict": {"approve"}, "body": {"x"}, "action": {"save"}})
		if w.Code != http.StatusForbidden {
			t.Errorf("auditor %s %s: %d", method, path, w.Code)
		}
	}
	for _, path := range []string{"/dashboard", "/cases", "/cases/" + id, "/cases/" + c.Number} {
		for _, role := range []cases.Role{cases.RoleIntake, cases.RoleReviewer, cases.RoleSupervisor, cases.RoleAuditor, cases.RoleAdmin} {
			if w := p.page(role, "GET", path, nil); w.Code != http.StatusOK {
				t.Errorf("%s GET %s: %d", role, path, w.Code)
			}
		}
	}
	forbidden := []struct {
		role         cases.Role
		method, path string
	}{
		{cases.RoleAuditor, "GET", "/cases/new"},
		{cases.RoleCollector, "GET", "/dashboard"},
		{cases.RoleCollector, "GET", "/cases/" + id},
		{cases.RoleIntake, "POST", "/cases/" + id + "/review"},
		{cases.RoleAdmin, "POST", "/cases/" + id + "/review"},
	}
	for _, tt := range forbidden {
		var form url.Values
		if tt.method == "POST" {
			form = url.Values{"verdict": {"approve"}}
		}
		if w := p.page(tt.role, tt.method, tt.path, form); w.Code != http.StatusForbidden {
			t.Errorf("%s %s %s: %d", tt.role, tt.method, tt.path, w.Code)
		}
	}
	if got, _ := p.db.Case(ctx, id); got.Status != cases.StatusReceived {
		t.Errorf("case changed by a forbidden request: %s", got.Status)
	}
	// Intake can see the intake form and reviewers the review form.
	if w := p.page(cases.RoleIntake, "GET", "/cases/new", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `name="agency.name"`) {
		t.Errorf("intake form: %d", w.Code)
	}
	if w := p.page(cases.RoleReviewer, "GET", "/cases/"+id, nil); !strings.Contains(w.Body.String(), `value="approve"`) {
		t.Error("reviewer sees no approve button")
	}
	if w := p.page(cases.RoleAuditor, "GET", "/cases/"+id, nil); strings.Contains(w.Body.String(), `method="post" action="/cases/`) {
		t.Error("auditor sees a form that changes the case")
	}
}

func TestPortalCrossOriginPostRefused(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	c := p.create(cases.RoleIntake, "subpoena.json")
	path := "/cases/" + itoa(c.ID) + "/review"
	form := url.Values{"verdict": {"approve"}}
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		if w := p.page(cases.RoleReviewer, "POST", path, form, h...); w.Code != http.StatusForbidden {
			t.Errorf("cross-origin review with %s: %d", h[0], w.Code)
		}
		w := p.page("", "POST", "/login", url.Values{"email": {p.emails[cases.RoleReviewer]}, "password": {portalPassword}}, h...)
		if w.Code != http.StatusForbidden || len(w.Result().Cookies()) > 0 {
			t.Errorf("cross-origin sign-in with %s: %d", h[0], w.Code)
		}
		if w := p.page(cases.RoleReviewer, "POST", "/logout", nil, h...); w.Code != http.StatusForbidden {
			t.Errorf("cross-origin sign-out with %s: %d", h[0], w.Code)
		}
	}
	if got, _ := p.db.Case(ctx, itoa(c.ID)); got.Status != cases.StatusReceived {
		t.Fatalf("cross-origin post changed the case: %s", got.Status)
	}
	// The same post from the portal itself goes through.
	w := p.page(cases.RoleReviewer, "POST", path, form, "Sec-Fetch-Site", "same-origin", "Origin", "http://example.com")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("same-origin review: %d %s", w.Code, w.Body)
	}
}

func cookieOf(w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	return nil
}

func TestPortalSignInOutAndLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		email := p.emails[cases.RoleReviewer]
		login := func(password, next string, tlsOn bool) *httptest.ResponseRecorder {
			req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {password}, "next": {next}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tlsOn {
				req.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			p.srv.ServeHTTP(w, req)
			return w
		}
		w := login(portalPassword, "/cases?status=received", false)
		ck := cookieOf(w)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/cases?status=received" || ck == nil {
			t.Fatalf("sign-in: %d %s", w.Code, w.Header().Get("Location"))
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
			t.Errorf("cookie attributes: %+v", ck)
		}
		if w := login(portalPassword, "//evil.example/x", true); w.Header().Get("Location") != "/dashboard" || !cookieOf(w).Secure {
			t.Errorf("TLS sign-in with an off-site next: %s secure=%v", w.Header().Get("Location"), cookieOf(w).Secure)
		}
		p.sessions["signed-in"] = ck.Value
		if w := p.page("signed-in", "GET", "/dashboard", nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), email) {
			t.Fatalf("dashboard after sign-in: %d", w.Code)
		}
		if w := p.page("signed-in", "POST", "/logout", url.Values{}); w.Code != http.StatusSeeOther || cookieOf(w) == nil || cookieOf(w).MaxAge >= 0 {
			t.Fatalf("sign-out: %d", w.Code)
		}
		if w := p.page("signed-in", "GET", "/dashboard", nil); w.Code != http.StatusSeeOther {
			t.Fatalf("session still works after sign-out: %d", w.Code)
		}

		// Lockout after MaxFailedLogins wrong passwords.
		for i := 1; i < store.MaxFailedLogins; i++ {
			if w := login("wrong password", "", false); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "wrong email or password") {
				t.Fatalf("failure %d: %d", i, w.Code)
			}
		}
		// A locked account answers as a wrong password does: the form does
		// not tell who is locked (or exists).
		if w := login("wrong password", "", false); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "wrong email or password") {
			t.Fatalf("lockout: %d", w.Code)
		}
		if w := login(portalPassword, "", false); w.Code != http.StatusUnauthorized || cookieOf(w) != nil || !strings.Contains(w.Body.String(), "wrong email or password") {
			t.Fatalf("right password while locked: %d", w.Code)
		}
		// Unknown accounts get the same answer as wrong passwords.
		email = "nobody@example.org"
		if w := login(portalPassword, "", false); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "wrong email or password") {
			t.Fatalf("unknown email: %d", w.Code)
		}
	})
}

func TestPortalForcedPasswordChange(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	email := p.emails[cases.RoleIntake]
	if err := p.db.SetPassword(ctx, "test", email, portalPassword, true); err != nil {
		t.Fatal(err)
	}
	w := p.page("", "POST", "/login", url.Values{"email": {email}, "password": {portalPassword}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/password" {
		t.Fatalf("first sign-in: %d %s", w.Code, w.Header().Get("Location"))
	}
	p.sessions["first"] = cookieOf(w).Value
	for _, path := range []string{"/dashboard", "/cases", "/cases/new"} {
		if w := p.page("first", "GET", path, nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/password" {
			t.Errorf("%s before changing the password: %d %s", path, w.Code, w.Header().Get("Location"))
		}
	}
	if w := p.page("first", "GET", "/password", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "first sign-in") {
		t.Fatalf("password page: %d", w.Code)
	}
	w = p.page("first", "POST", "/password", url.Values{"current": {portalPassword}, "password": {"short"}, "confirm": {"short"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "at least 12") {
		t.Fatalf("short password: %d", w.Code)
	}
	w = p.page("first", "POST", "/password", url.Values{"current": {portalPassword}, "password": {"my own passphrase"}, "confirm": {"my own passphrase"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dashboard?done=password" {
		t.Fatalf("change: %d %s", w.Code, w.Body)
	}
	if w := p.page("first", "GET", "/dashboard?done=password", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "Password changed.") {
		t.Fatalf("dashboard after the change: %d", w.Code)
	}
	// The older session (created by the fixture) was ended by the change.
	if w := p.page(cases.RoleIntake, "GET", "/dashboard", nil); w.Code != http.StatusSeeOther {
		t.Errorf("other session survived the password change: %d", w.Code)
	}
}

func TestPortalIdleTimeout(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	now := time.Now().UTC()
	p.db.Now = func() time.Time { return now }
	tok, _ := p.db.CreateSession(ctx, 1)
	p.sessions["s"] = tok
	if w := p.page("s", "GET", "/dashboard", nil); w.Code != 200 {
		t.Fatalf("fresh session: %d", w.Code)
	}
	now = now.Add(store.SessionIdleTimeout + time.Minute)
	if w := p.page("s", "GET", "/dashboard", nil); w.Code != http.StatusSeeOther {
		t.Fatalf("idle session: %d", w.Code)
	}
}

// multipartForm builds an intake post with an optional file.
func multipartForm(t *testing.T, fields url.Values, filename string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if filename != "" {
		fw, _ := mw.CreateFormFile("document", filename)
		fw.Write(content)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (p *portal) post(role cases.Role, path string, body *bytes.Buffer, ctype string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, body)
	req.Header.Set("Content-Type", ctype)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: p.sessions[role]})
	w := httptest.NewRecorder()
	p.srv.ServeHTTP(w, req)
	return w
}

func intakeValues(action string) url.Values {
	return url.Values{
		"action":      {action},
		"agency.name": {"Federal Bureau of Investigation"}, "agency.country": {"US"}, "agency.verified_domains": {"fbi.gov"},
		"requester.name": {"Dana Reyes"}, "requester.email": {"dreyes@fbi.gov"}, "requester.phone": {"+12025550100"},
		"process.type": {"pen_register"}, "process.via": {""},
		"process.issuing_authority": {"U.S. District Court for the Northern District of California"},
		"process.reference":         {"3:26-mj-70412"},
		"process.issued_at":         {time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")},
		"process.expires_at":        {time.Now().UTC().AddDate(0, 2, 0).Format("2006-01-02")},
		"target_kind":               {"phone", "phone", "phone"}, "target_value": {"+14155550123", "", ""},
		"categories":  {"message_pairs", "message_content"},
		"window.from": {time.Now().UTC().Format("2006-01-02")}, "window.to": {time.Now().UTC().AddDate(0, 3, 0).Format("2006-01-02")},
		"due_at": {time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")},
	}
}

func TestPortalIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		count := func() int64 { n, _ := db.CountCases(ctx); return n }

		// Check: the decision is shown, nothing is stored.
		body, ctype := multipartForm(t, intakeValues("check"), "", nil)
		w := p.post(cases.RoleIntake, "/cases/new", body, ctype)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "Policy decision (not saved yet)") ||
			!strings.Contains(w.Body.String(), "GLOBAL-CONTENT") || !strings.Contains(w.Body.String(), "US-PEN-REGISTER") {
			t.Fatalf("check: %d\n%s", w.Code, w.Body)
		}
		if count() != 0 {
			t.Fatal("check stored a case")
		}

		// Inline field errors, named as the API names them, and nothing stored.
		bad := intakeValues("save")
		bad.Set("agency.country", "UK")
		bad["target_value"] = []string{"", "(415) 555-0123", ""}
		body, ctype = multipartForm(t, bad, "", nil)
		w = p.post(cases.RoleIntake, "/cases/new", body, ctype)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "use &#34;GB&#34; for the United Kingdom") ||
			!regexp.MustCompile(`id="target_value_0" aria-invalid="true" aria-describedby="err-targets-0-value"[^>]*value="\(415\) 555-0123"><span class="field-error" id="err-targets-0-value">Target 1 value must not contain white space`).MatchString(w.Body.String()) ||
			// The summary at the top lists the field and links to it.
			!strings.Contains(w.Body.String(), `<li><a href="#target_value_0">Target 1 value must not contain white space`) {
			t.Fatalf("field errors: %d\n%s", w.Code, w.Body)
		}
		if count() != 0 {
			t.Fatal("a bad request was stored")
		}

		// A file that is not a PDF is refused before anything is stored.
		body, ctype = multipartForm(t, intakeValues("save"), "order.pdf", []byte("MZ not a pdf"))
		if w := p.post(cases.RoleIntake, "/cases/new", body, ctype); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "must be a PDF") || count() != 0 {
			t.Fatalf("non-PDF: %d", w.Code)
		}

		// Save with the order attached.
		pdf := []byte("%PDF-1.4\n% the order\n%%EOF\n")
		body, ctype = multipartForm(t, intakeValues("save"), "order.pdf", pdf)
		w = p.post(cases.RoleIntake, "/cases/new", body, ctype)
		if w.Code != http.StatusSeeOther || !strings.HasSuffix(w.Header().Get("Location"), "?done=created") {
			t.Fatalf("save: %d %s", w.Code, w.Body)
		}
		loc := strings.TrimSuffix(w.Header().Get("Location"), "?done=created")
		c, err := db.Case(ctx, strings.TrimPrefix(loc, "/cases/"))
		if err != nil || c.CreatedBy != p.emails[cases.RoleIntake] || c.Decision == nil || c.Document == nil || c.Document.Size != int64(len(pdf)) {
			t.Fatalf("saved case: %+v %v", c, err)
		}
		page := p.page(cases.RoleAuditor, "GET", loc, nil).Body.String()
		for _, want := range []string{c.Number, "order.pdf", c.Document.SHA256, "US-PEN-REGISTER", "Policy decision", "Document uploaded", "14155550123"} {
			if !strings.Contains(page, want) {
				t.Errorf("case page lacks %q", want)
			}
		}
		dl := p.page(cases.RoleAuditor, "GET", loc+"/document", nil)
		if dl.Code != 200 || !bytes.Equal(dl.Body.Bytes(), pdf) || dl.Header().Get("X-Content-SHA256") != c.Document.SHA256 {
			t.Errorf("download: %d", dl.Code)
		}
	})
}

func TestPortalReviewFourEyes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		own := p.create(cases.RoleReviewer, "subpoena.json")
		w := p.page(cases.RoleReviewer, "POST", "/cases/"+itoa(own.ID)+"/review", url.Values{"verdict": {"approve"}, "note": {"fine"}})
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "four eyes") || !strings.Contains(w.Body.String(), `role="alert"`) {
			t.Fatalf("own case: %d\n%s", w.Code, w.Body)
		}
		// The page is re-rendered with the note kept.
		if !strings.Contains(w.Body.String(), ">fine</textarea>") {
			t.Error("note lost")
		}

		c := p.create(cases.RoleIntake, "pen_register.json")
		path := "/cases/" + itoa(c.ID)
		w = p.page(cases.RoleReviewer, "POST", path+"/review", url.Values{"verdict": {"approve"}, "note": {"order checked"}})
		if c.Decision.Outcome == cases.OutcomeReject {
			if w.Code != http.StatusConflict {
				t.Fatalf("approving a rejected decision: %d", w.Code)
			}
			w = p.page(cases.RoleReviewer, "POST", path+"/review", url.Values{"verdict": {"reject"}, "note": {"order checked"}})
		}
		if w.Code != http.StatusSeeOther {
			t.Fatalf("review: %d\n%s", w.Code, w.Body)
		}
		page := p.page(cases.RoleReviewer, "GET", w.Header().Get("Location"), nil).Body.String()
		if !strings.Contains(page, "order checked") || !strings.Contains(page, "by "+p.emails[cases.RoleReviewer]) {
			t.Errorf("reviewed case page:\n%s", page)
		}
		// Deciding twice is a conflict, shown on the page.
		w = p.page(cases.RoleSupervisor, "POST", path+"/review", url.Values{"verdict": {"reject"}, "note": {"x"}})
		if w.Code != http.StatusConflict {
			t.Errorf("second review: %d", w.Code)
		}

		// Notes.
		if w := p.page(cases.RoleIntake, "POST", path+"/notes", url.Values{"body": {"called the agency"}}); w.Code != http.StatusSeeOther {
			t.Fatalf("note: %d", w.Code)
		}
		if w := p.page(cases.RoleIntake, "POST", path+"/notes", url.Values{"body": {"  "}}); w.Code != http.StatusBadRequest {
			t.Errorf("empty note: %d", w.Code)
		}
		if page := p.page(cases.RoleAuditor, "GET", path, nil).Body.String(); !strings.Contains(page, "called the agency") {
			t.Error("note not shown")
		}
	})
}

// Every field of a case is escaped: a request is attacker-controlled input.
func TestPortalEscapesCaseFields(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	evil := `<script>alert(1)</script>`
	body := strings.Replace(string(fixtureJSON(t, "subpoena.json")), "New York County District Attorney", evil, 1)
	body = strings.Replace(body, "ADA Priya Shah", `\"><img src=x onerror=alert(2)>`, 1)
	var c cases.Case
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(body), &c); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	p.db.AddNote(ctx, &cases.User{Email: p.emails[cases.RoleIntake], Role: cases.RoleIntake}, itoa(c.ID), evil)
	for _, path := range []string{"/cases/" + itoa(c.ID), "/cases", "/dashboard", "/cases?q=" + url.QueryEscape(evil)} {
		page := p.page(cases.RoleAuditor, "GET", path, nil).Body.String()
		if strings.Contains(page, "<script") || strings.Contains(page, "<img") {
			t.Errorf("%s renders markup from a case field", path)
		}
		if path != "/dashboard" && !strings.Contains(page, "&lt;script&gt;") {
			t.Errorf("%s does not show the escaped field", path)
		}
	}
}

func TestPortalListFiltersAndPaging(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	for i := 0; i < 3; i++ {
		p.create(cases.RoleIntake, "subpoena.json")
	}
	emergency := p.create(cases.RoleIntake, "emergency.json")
	w := p.page(cases.RoleAuditor, "GET", "/cases?limit=2", nil)
	m := regexp.MustCompile(`href="(/cases\?[^"]*after=\d+[^"]*)" rel="next"`).FindStringSubmatch(w.Body.String())
	if w.Code != 200 || m == nil {
		t.Fatalf("first page: %d\n%s", w.Code, w.Body)
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	w = p.page(cases.RoleAuditor, "GET", next, nil)
	if w.Code != 200 || strings.Count(w.Body.String(), `<td><a href="/cases/`) != 2 || strings.Contains(w.Body.String(), `rel="next"`) {
		t.Fatalf("second page: %d", w.Code)
	}
	w = p.page(cases.RoleAuditor, "GET", "/cases?process=emergency", nil)
	if strings.Count(w.Body.String(), `<td><a href="/cases/`) != 1 || !strings.Contains(w.Body.String(), emergency.Number) {
		t.Errorf("process filter:\n%s", w.Body)
	}
	w = p.page(cases.RoleAuditor, "GET", "/cases?q="+url.QueryEscape(emergency.Number), nil)
	if strings.Count(w.Body.String(), `<td><a href="/cases/`) != 1 {
		t.Errorf("search by number")
	}
	w = p.page(cases.RoleAuditor, "GET", "/cases?due=overdue", nil)
	if w.Code != 200 || strings.Count(w.Body.String(), `<span class="badge overdue">`) != 4 {
		t.Errorf("overdue filter: %d", w.Code)
	}
	for _, bad := range []string{"status=pending", "country=UK", "process=wiretap", "due=someday"} {
		if w := p.page(cases.RoleAuditor, "GET", "/cases?"+bad, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "field-error") {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
	// The dashboard puts emergencies first and flags overdue cases.
	page := p.page(cases.RoleSupervisor, "GET", "/dashboard", nil).Body.String()
	if i, j := strings.Index(page, "Emergencies (1)"), strings.Index(page, "Overdue (4)"); i < 0 || j < 0 || i > j {
		t.Errorf("dashboard order: emergencies at %d, overdue at %d", i, j)
	}
}

var (
	titleRe = regexp.MustCompile(`<title>[^<]+ · envelope</title>`)
	inputRe = regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*>`)
	idRe    = regexp.MustCompile(`<(?:input|select|textarea)[^>]*\bid="([^"]+)"`)
)

// checkTitleAndLabels reports a page without a title, or with a visible
// input that no <label for> names.
func checkTitleAndLabels(t *testing.T, path, body string) {
	t.Helper()
	if !titleRe.MatchString(body) {
		t.Errorf("%s has no title", path)
	}
	for _, in := range inputRe.FindAllString(body, -1) {
		if strings.Contains(in, `type="hidden"`) {
			continue
		}
		m := idRe.FindStringSubmatch(in)
		if m == nil || !strings.Contains(body, `<label for="`+m[1]+`"`) {
			t.Errorf("%s: input without a label: %s", path, in)
		}
	}
}

func TestPortalPagesAreAccessible(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	c := p.create(cases.RoleIntake, "pen_register.json")
	pages := map[string]cases.Role{"/login": "", "/dashboard": cases.RoleReviewer, "/cases": cases.RoleReviewer,
		"/cases/new": cases.RoleIntake, "/cases/" + itoa(c.ID): cases.RoleReviewer, "/password": cases.RoleIntake}
	for path, role := range pages {
		w := p.page(role, "GET", path, nil)
		body := w.Body.String()
		if w.Code != 200 {
			t.Errorf("%s: %d", path, w.Code)
			continue
		}
		checkTitleAndLabels(t, path, body)
		if w.Header().Get("Cache-Control") != "no-store" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: security headers missing", path)
		}
	}
	css := p.page("", "GET", "/static/portal.css", nil)
	for _, want := range []string{":focus-visible", "@media print", "@media (max-width"} {
		if !strings.Contains(css.Body.String(), want) {
			t.Errorf("style sheet lacks %s", want)
		}
	}
}

// A denied category's reason is shown once on the case page: the policy's
// reason, not followed by the rule's description, which says it again in
// other words (issue 19).
func TestCasePageDenialReasonOnce(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	checked := 0
	for _, name := range []string{"subpoena.json", "pen_register.json", "emergency.json"} {
		c := p.create(cases.RoleIntake, name)
		if c.Decision == nil || len(c.Decision.Denied) == 0 {
			continue
		}
		w := p.page(cases.RoleReviewer, "GET", "/cases/"+itoa(c.ID), nil)
		body := w.Body.String()
		start := strings.Index(body, `aria-label="Denied categories (table)"`)
		if w.Code != http.StatusOK || start < 0 {
			t.Fatalf("%s: %d, no denied table", name, w.Code)
		}
		table := body[start : start+strings.Index(body[start:], "</table>")]
		for _, d := range c.Decision.Denied {
			checked++
			n := strings.Count(table, "<td>"+html.EscapeString(d.Reason)+"</td>")
			if again := ruleText[d.Rule]; n != 1 || again != "" && strings.Contains(table, html.EscapeString(again)) {
				t.Errorf("%s: the reason for denying %s is not given once, alone in its cell:\n%s", name, d.Category, table)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no fixture has a denied category")
	}
}
