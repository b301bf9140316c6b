package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/web/agency"
)

// The agency portal's routes have their own gate (an agency session with
// its second factor, web/agency): to the staff route table they are open,
// and no staff session passes that gate (TestAgencyPortal checks it).
func init() {
	for _, r := range []string{
		"GET /agency", "GET /agency/", "GET /agency/register", "POST /agency/register", "GET /agency/verify", "POST /agency/verify",
		"GET /agency/login", "POST /agency/login", "POST /agency/logout", "GET /agency/totp", "POST /agency/totp",
		"GET /agency/cases", "GET /agency/cases/new", "POST /agency/cases/new", "GET /agency/cases/:id",
		"POST /agency/cases/:id/withdraw", "POST /agency/cases/:id/answer", "POST /agency/cases/:id/followers", "POST /agency/cases/:id/packages/:pkg/acknowledge",
		"GET /agency/download/:token", "POST /agency/cases/:id/messages", "GET /agency/cases/:id/files/:file",
		"POST /agency/reverify", "GET /agency/reverify", "POST /agency/reverify/confirm",
	} {
		routeRoles[r] = public
	}
	routeRoles["GET /api/v1/officers"] = auditR
	routeRoles["POST /api/v1/officers/:id/suspend"] = adminsR
	routeRoles["POST /api/v1/officers/:id/reinstate"] = adminsR
	routeRoles["POST /api/v1/agencies/:id/suspend"] = adminsR
	routeRoles["POST /api/v1/agencies/:id/reinstate"] = adminsR
	routeRoles["GET /api/v1/cases/:id/messages"] = readers
	routeRoles["POST /api/v1/cases/:id/messages"] = loggers
	routeRoles["GET /api/v1/cases/:id/messages/files/:file"] = readers
	routeRoles["POST /cases/:id/messages"] = loggers
	adminOnly = append(adminOnly, [2]string{"POST", "/admin/agencies/1/suspend"}, [2]string{"POST", "/admin/agencies/1/reinstate"})
	routeRoles["POST /admin/agencies/:id/suspend"] = adminsR
	routeRoles["POST /admin/agencies/:id/reinstate"] = adminsR
	routeRoles["GET /cases/:id/messages/files/:file"] = readers
}

// mailbox keeps the portal's mail; the real SMTP queue is another issue's
// (cases/mail), and the portal only needs its Send.
type mailbox struct {
	mu   sync.Mutex
	mail []string
}

func (m *mailbox) Send(_ context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mail = append(m.mail, to+"\n"+subject+"\n"+body)
	return nil
}

func (m *mailbox) last() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.mail) == 0 {
		return ""
	}
	return m.mail[len(m.mail)-1]
}

// officerClient is a browser of the agency portal: a real HTTP server,
// cookies kept, redirects not followed.
type officerClient struct {
	t      *testing.T
	base   string
	cookie string
	from   string // X-Forwarded-For, for a server that trusts the test as its proxy
}

func (o *officerClient) send(method, path, contentType string, body io.Reader) (*http.Response, string) {
	o.t.Helper()
	req, err := http.NewRequest(method, o.base+path, body)
	if err != nil {
		o.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if o.cookie != "" {
		req.AddCookie(&http.Cookie{Name: agency.SessionCookie, Value: o.cookie})
	}
	if o.from != "" {
		req.Header.Set("X-Forwarded-For", o.from)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == agency.SessionCookie {
			o.cookie = ck.Value
		}
	}
	return resp, string(b)
}

func (o *officerClient) get(path string) (*http.Response, string) {
	return o.send("GET", path, "", nil)
}

func (o *officerClient) post(path string, form url.Values) (*http.Response, string) {
	return o.send("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

func expect(t *testing.T, what string, resp *http.Response, body string, code int, location string) {
	t.Helper()
	if resp.StatusCode != code || !strings.HasPrefix(resp.Header.Get("Location"), location) {
		t.Fatalf("%s: %d → %q, want %d → %q\n%s", what, resp.StatusCode, resp.Header.Get("Location"), code, location, body)
	}
}

func agencyID(t *testing.T, db *store.DB, name string) string {
	t.Helper()
	list, err := db.Agencies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Name == name {
			return fmt.Sprint(a.ID)
		}
	}
	t.Fatalf("no agency %s", name)
	return ""
}

func hasEvent(t *testing.T, db *store.DB, action, contains string) bool {
	t.Helper()
	var n int
	if err := db.Reader().GetContext(ctx, &n, db.Reader().Rebind("SELECT COUNT(*) FROM audit_events WHERE action = ? AND COALESCE(after_json, '') LIKE ?"),
		action, "%"+contains+"%"); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// The whole officer path over HTTP against the real router and a real
// SQLite file, with the attacks issue 14 lists.
func TestAgencyPortal(t *testing.T) {
	box := &mailbox{}
	p := newPortal(t, storetest.SQLite(t))
	p.srv.AgencyMail = box
	dir := t.TempDir()
	if err := p.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(p.srv)
	defer ts.Close()
	o := &officerClient{t: t, base: ts.URL}
	fbi := agencyID(t, p.db, "Federal Bureau of Investigation")
	const password = "correct horse battery"

	reg := func(email string) (*http.Response, string) {
		return o.post("/agency/register", url.Values{"agency": {fbi}, "email": {email}, "name": {"SA Dana Kim"}, "phone": {"+12025550100"}, "password": {password}})
	}
	// Not a directory domain, and look-alikes of fbi.gov: refused, nothing stored.
	for _, email := range []string{"kim@example.com", "kim@gmail.com", "kim@fbi-gov.us", "kim@fbi.gov.evil.com", "kim@fbі.gov", "kim@xn--fbi-gov.us", "kim@dea.gov"} {
		resp, body := reg(email)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "directory domain") {
			t.Errorf("register %s: %d\n%s", email, resp.StatusCode, body)
		}
	}
	if list, _ := p.db.Officers(ctx, 0); len(list) != 0 {
		t.Fatalf("refused registrations stored officers: %v", list)
	}

	resp, body := reg("kim@ic.fbi.gov")
	expect(t, "register", resp, body, http.StatusSeeOther, "/agency/login")
	mailed := box.last()
	// Registering the address again answers the same, and mails its owner.
	resp, body = reg("kim@ic.fbi.gov")
	expect(t, "register again", resp, body, http.StatusSeeOther, "/agency/login?done=registered")
	if !strings.Contains(box.last(), "already has an account") {
		t.Errorf("the owner was not told of the second registration: %q", box.last())
	}
	m := regexp.MustCompile(`/agency/verify\?token=(\S+)`).FindStringSubmatch(mailed)
	if m == nil {
		t.Fatalf("no verification link mailed: %q", box.last())
	}
	token, _ := url.QueryUnescape(m[1])

	// Unverified: the same answer as an unknown email.
	r1, b1 := o.post("/agency/login", url.Values{"email": {"kim@ic.fbi.gov"}, "password": {password}})
	r2, b2 := o.post("/agency/login", url.Values{"email": {"nobody@ic.fbi.gov"}, "password": {password}})
	if r1.StatusCode != http.StatusUnauthorized || r2.StatusCode != r1.StatusCode ||
		!strings.Contains(b1, "Wrong email, password or code.") || !strings.Contains(b2, "Wrong email, password or code.") {
		t.Fatalf("unverified %d / unknown %d", r1.StatusCode, r2.StatusCode)
	}
	if hasEvent(t, p.db, "officer.login.fail", "nobody@") {
		t.Error("an unknown email is in the audit log in clear")
	}

	if resp, body := o.get("/agency/verify?token=" + url.QueryEscape(token)); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Confirm my email") {
		t.Fatalf("verify page: %d", resp.StatusCode)
	}
	resp, body = o.post("/agency/verify", url.Values{"token": {token}})
	expect(t, "verify", resp, body, http.StatusSeeOther, "/agency/login?done=verified")
	resp, body = o.post("/agency/verify", url.Values{"token": {token}})
	expect(t, "verify again", resp, body, http.StatusNotFound, "")

	// Password alone: a session that may only enrol.
	resp, body = o.post("/agency/login", url.Values{"email": {"kim@ic.fbi.gov"}, "password": {password}})
	expect(t, "first sign-in", resp, body, http.StatusSeeOther, "/agency/totp")
	for _, path := range []string{"/agency/cases", "/agency/cases/new", "/agency/cases/1", "/agency/cases/1/files/1"} {
		resp, body := o.get(path)
		expect(t, "before enrolment GET "+path, resp, body, http.StatusSeeOther, "/agency/totp")
	}
	for _, path := range []string{"/agency/cases/new", "/agency/cases/1/withdraw", "/agency/cases/1/answer", "/agency/cases/1/messages", "/agency/reverify"} {
		resp, body := o.post(path, url.Values{"reason": {"x"}})
		expect(t, "before enrolment POST "+path, resp, body, http.StatusForbidden, "")
	}
	resp, body = o.get("/agency/totp")
	sm := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(body)
	if sm == nil {
		t.Fatalf("no secret on the enrolment page: %s", body)
	}
	secret := sm[1]
	realNow := p.db.Now
	offset := time.Duration(0)
	p.db.Now = func() time.Time { return realNow().Add(offset) }
	code := func() string {
		c, err := totp.GenerateCode(secret, p.db.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if resp, _ := o.post("/agency/totp", url.Values{"code": {"000000"}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a wrong enrolment code: %d", resp.StatusCode)
	}
	resp, body = o.post("/agency/totp", url.Values{"code": {code()}})
	// Enrolment answers with the recovery codes, shown once (issue 14).
	expect(t, "enrol", resp, body, http.StatusOK, "")
	if strings.Count(body, "<li><code>") != store.RecoveryCodeCount {
		t.Fatalf("enrolment did not show the recovery codes:\n%s", body)
	}
	if !hasEvent(t, p.db, "officer.totp.enrol", "") {
		t.Error("no audit event for the enrolment")
	}

	// Sign out; now a code is needed, and a used one is not taken again.
	o.post("/agency/logout", nil)
	o.cookie = ""
	if resp, _ := o.post("/agency/login", url.Values{"email": {"kim@ic.fbi.gov"}, "password": {password}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-in without a code once enrolled: %d", resp.StatusCode)
	}
	if resp, _ := o.post("/agency/login", url.Values{"email": {"kim@ic.fbi.gov"}, "password": {password}, "code": {code()}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the enrolment code replayed: %d", resp.StatusCode)
	}
	offset = 31 * time.Second
	resp, body = o.post("/agency/login", url.Values{"email": {"kim@ic.fbi.gov"}, "password": {password}, "code": {code()}})
	expect(t, "sign-in with a code", resp, body, http.StatusSeeOther, "/agency/cases")
	if resp, body := o.get("/agency/cases"); resp.StatusCode != http.StatusOK {
		t.Fatalf("cases: %d %s", resp.StatusCode, body)
	}

	// Submit, with a bad form first: 400 naming the field, nothing stored.
	submit := func(pdf []byte, fields map[string]string) (*http.Response, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		if pdf != nil {
			fw, _ := mw.CreateFormFile("document", "subpoena.pdf")
			fw.Write(pdf)
		}
		mw.Close()
		return o.send("POST", "/agency/cases/new", mw.FormDataContentType(), &buf)
	}
	fields := map[string]string{"process.type": "subpoena", "process.issuing_authority": "Grand Jury, D.D.C.",
		"process.reference": "GJ-2026-77", "target_kind": "account_id", "target_value": "acc_9f8e7d6c", "categories": "basic_subscriber_info",
		"process.issued_at": "2026-06-30", "window.from": "2026-01-01", "window.to": "2026-07-01"}
	count := func() int64 { n, _ := p.db.CountCases(ctx); return n }
	before := count()
	if resp, body := submit([]byte("not a pdf"), fields); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "document") {
		t.Fatalf("a non-PDF: %d\n%s", resp.StatusCode, body)
	}
	bad := map[string]string{"process.type": "subpoena", "target_kind": "phone", "target_value": "not a phone", "categories": "basic_subscriber_info"}
	if resp, body := submit([]byte("%PDF-1.4\n"), bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "targets[0]") {
		t.Fatalf("a bad target: %d\n%s", resp.StatusCode, body)
	}
	if count() != before {
		t.Fatal("a refused submission stored a case")
	}
	// A phone number typed as the officer reads it, in the agency's country.
	fields["target_kind"], fields["target_value"] = "phone", "(415) 555-0123"
	resp, body = submit([]byte("%PDF-1.4\n%test\n"), fields)
	expect(t, "submit", resp, body, http.StatusSeeOther, "/agency/cases/")
	caseID := strings.TrimSuffix(strings.TrimPrefix(resp.Header.Get("Location"), "/agency/cases/"), "?done=submitted")
	kase, err := p.db.Case(ctx, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if kase.Requester.Email != "kim@ic.fbi.gov" || kase.Agency.Name != "Federal Bureau of Investigation" || kase.Document == nil || kase.Decision == nil {
		t.Fatalf("submitted case: requester %+v agency %+v document %v", kase.Requester, kase.Agency, kase.Document)
	}
	if got := kase.Targets[0].Value; got != "+14155550123" {
		t.Errorf("the typed number was stored as %q, want +14155550123", got)
	}
	if !hasEvent(t, p.db, "case.source", `"agency"`) {
		t.Error("no audit event naming the source")
	}
	if resp, body := o.get("/agency/cases/" + caseID); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Received") {
		t.Fatalf("status page: %d\n%s", resp.StatusCode, body)
	}

	// An emergency goes to the emergency queue at once.
	resp, body = submit([]byte("%PDF-1.4\n"), map[string]string{"process.type": "emergency", "target_kind": "account_id", "target_value": "acc_1234abcd",
		"categories": "basic_subscriber_info", "emergency.description": "A kidnapped child is held by the account holder.", "emergency.imminent_harm": "on"})
	expect(t, "emergency submit", resp, body, http.StatusSeeOther, "/agency/cases/")
	page, err := p.db.ListCases(ctx, cases.CaseFilter{Process: cases.Emergency, Limit: 10})
	if err != nil || len(page.Cases) != 1 {
		t.Fatalf("emergency queue: %v %v", page, err)
	}

	// Another's case by id: 404, as for one that does not exist.
	other := p.create(cases.RoleIntake, "subpoena.json")
	for _, path := range []string{fmt.Sprint("/agency/cases/", other.ID), "/agency/cases/99999"} {
		if resp, _ := o.get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := o.post(fmt.Sprint("/agency/cases/", other.ID, "/withdraw"), url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("withdrawing another's case: %d", resp.StatusCode)
	}

	// A colleague of the same agency sees the case once added; an officer
	// of another agency cannot be added.
	colleague := newOfficer(t, p, ts.URL, fbi, "lee@fbi.gov")
	dea := newOfficer(t, p, ts.URL, agencyID(t, p.db, "Drug Enforcement Administration"), "ray@dea.gov")
	if resp, _ := colleague.get("/agency/cases/" + caseID); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a colleague before being added: %d", resp.StatusCode)
	}
	if resp, _ := o.post("/agency/cases/"+caseID+"/followers", url.Values{"email": {"ray@dea.gov"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("adding an officer of another agency: %d", resp.StatusCode)
	}
	resp, body = o.post("/agency/cases/"+caseID+"/followers", url.Values{"email": {"lee@fbi.gov"}})
	expect(t, "add a follower", resp, body, http.StatusSeeOther, "/agency/cases/"+caseID+"?done=followed")
	if resp, _ := colleague.get("/agency/cases/" + caseID); resp.StatusCode != http.StatusOK {
		t.Errorf("a follower: %d", resp.StatusCode)
	}
	if resp, _ := dea.get("/agency/cases/" + caseID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another agency's officer: %d", resp.StatusCode)
	}
	if resp, _ := colleague.post("/agency/cases/"+caseID+"/followers", url.Values{"email": {"kim@ic.fbi.gov"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a follower adding followers: %d", resp.StatusCode)
	}

	// Sessions do not cross: an agency session is nothing to staff routes,
	// a staff session nothing to agency routes.
	for _, path := range []string{"/dashboard", "/cases", "/cases/" + caseID} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: agency.SessionCookie, Value: o.cookie})
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: o.cookie})
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("agency session on %s: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	staff := &officerClient{t: t, base: ts.URL, cookie: p.sessions[cases.RoleAdmin]}
	for _, path := range []string{"/agency/cases", "/agency/cases/" + caseID, "/agency/totp"} {
		resp, body := staff.get(path)
		expect(t, "staff session on "+path, resp, body, http.StatusSeeOther, "/agency/login")
	}
	if resp, _ := staff.post("/agency/cases/"+caseID+"/withdraw", url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("staff session posting to the agency portal: %d", resp.StatusCode)
	}

	// Clarification round trip.
	if w := p.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+caseID+"/clarification", []byte(`{"question":"Which account exactly?"}`), nil); w.Code == http.StatusOK {
		resp, body := o.get("/agency/cases/" + caseID)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Which account exactly?") {
			t.Fatalf("the question is not on the status page: %s", body)
		}
		resp, body = o.post("/agency/cases/"+caseID+"/answer", url.Values{"answer": {"acc_9f8e7d6c only"}})
		expect(t, "answer", resp, body, http.StatusSeeOther, "/agency/cases/"+caseID)
		if !hasEvent(t, p.db, "case.clarification_answer", "acc_9f8e7d6c only") {
			t.Error("the answer is not in the audit log")
		}
		// The API's clarification request on an agency case, and the
		// portal's answer form, are messages of the case's thread.
		if th, _ := p.db.Thread(ctx, kase.ID); len(th) != 2 || th[0].Kind != cases.MessageClarificationRequest || th[1].Body != "acc_9f8e7d6c only" {
			t.Errorf("the clarification round trip is not in the thread: %+v", th)
		}
	} else {
		t.Logf("clarification API not at the path this test tried (%d): round trip not checked here", w.Code)
	}

	// Delivery: approve, produce, download over the signed link, acknowledge.
	if w := p.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+caseID+"/approve", []byte(`{"note": ""}`), nil); w.Code != http.StatusOK {
		t.Fatalf("approve: %d %s\n%+v", w.Code, w.Body, kase.Decision)
	}
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases/"+caseID+"/notice", []byte(`{"kind":"sent","method":"e-mail"}`), nil); w.Code != http.StatusCreated {
		t.Fatalf("notice: %d %s", w.Code, w.Body)
	}
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases/"+caseID+"/export", nil, nil); w.Code != http.StatusCreated {
		t.Fatalf("export: %d %s", w.Code, w.Body)
	}
	_, body = o.get("/agency/cases/" + caseID)
	lm := regexp.MustCompile(`href="(/agency/download/[^"]+)"`).FindStringSubmatch(body)
	if lm == nil {
		t.Fatalf("no download link on the produced case: %s", body)
	}
	link := lm[1]
	resp, zipBody := o.get(link)
	if resp.StatusCode != http.StatusOK || len(resp.Header.Get("X-Package-SHA256")) != 64 || !strings.HasPrefix(zipBody, "PK") {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	if !hasEvent(t, p.db, "package.download", resp.Header.Get("X-Package-SHA256")) {
		t.Error("the download is not in the audit log with the package hash")
	}
	am := regexp.MustCompile(`action="(/agency/cases/\d+/packages/\d+/acknowledge)"`).FindStringSubmatch(body)
	if am == nil {
		t.Fatal("no acknowledge button")
	}
	resp, body = o.post(am[1], nil)
	expect(t, "acknowledge", resp, body, http.StatusSeeOther, "/agency/cases/"+caseID+"?done=ack")
	if resp, _ := o.post(am[1], nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("acknowledging twice: %d", resp.StatusCode)
	}
	if !hasEvent(t, p.db, "package.acknowledge", "") {
		t.Error("the receipt is not in the audit log")
	}
	if w := p.page(cases.RoleAuditor, "GET", "/cases/"+caseID, nil); !strings.Contains(w.Body.String(), "acknowledged") {
		t.Errorf("the staff case page does not show the receipt")
	}
	// The link expires, and a tampered one is refused.
	realSrv := p.srv.Now
	p.srv.Now = func() time.Time { return realSrv().Add(16 * time.Minute) }
	if resp, _ := o.get(link); resp.StatusCode != http.StatusGone {
		t.Errorf("an expired link: %d, want 410", resp.StatusCode)
	}
	p.srv.Now = realSrv
	if resp, _ := o.get(link[:len(link)-2] + "AA"); resp.StatusCode != http.StatusGone {
		t.Errorf("a tampered link: %d, want 410", resp.StatusCode)
	}

	// Suspension ends the session at once.
	officers, _ := p.db.Officers(ctx, 0)
	if w := p.do(cases.RoleAdmin, "POST", fmt.Sprint("/api/v1/officers/", officers[0].ID, "/suspend"), []byte(`{"reason":"left the bureau"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("suspend: %d %s", w.Code, w.Body)
	}
	resp, body = o.get("/agency/cases")
	expect(t, "suspended officer", resp, body, http.StatusSeeOther, "/agency/login")
}

// 30 parallel wrong passwords lock the officer; the right password and
// code right after are refused, with the same answer as a wrong one.
func TestAgencyLockoutIsAtomic(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	p.srv.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	ts := httptest.NewServer(p.srv)
	defer ts.Close()
	fbiID := agencyID(t, p.db, "Federal Bureau of Investigation")
	var id int64
	fmt.Sscan(fbiID, &id)
	off, token, err := p.db.RegisterOfficer(ctx, id, "lee@fbi.gov", "SA Lee", "", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.db.VerifyOfficer(ctx, token); err != nil {
		t.Fatal(err)
	}
	key, _ := totp.Generate(totp.GenerateOpts{Issuer: "envelope", AccountName: off.Email})
	if err := p.db.SetOfficerSecret(ctx, off.ID, key.Secret()); err != nil {
		t.Fatal(err)
	}
	c0, _ := totp.GenerateCode(key.Secret(), p.db.Now().Add(-30*time.Second))
	if err := p.db.ConfirmOfficerTOTP(ctx, off.ID, "", c0, agency.CheckCode); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// From 30 addresses, so the per-address throttle lets each
			// through and the account's lockout is what is tested.
			o := &officerClient{t: t, base: ts.URL, from: fmt.Sprintf("198.51.100.%d", i+1)}
			o.post("/agency/login", url.Values{"email": {"lee@fbi.gov"}, "password": {"wrong password " + fmt.Sprint(i)}, "code": {"123456"}})
		}()
	}
	wg.Wait()
	code, _ := totp.GenerateCode(key.Secret(), p.db.Now())
	o := &officerClient{t: t, base: ts.URL, from: "198.51.100.99"}
	resp, body := o.post("/agency/login", url.Values{"email": {"lee@fbi.gov"}, "password": {"correct horse battery"}, "code": {code}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong email, password or code.") || o.cookie != "" {
		t.Fatalf("right password after 30 wrong ones: %d", resp.StatusCode)
	}
	var failed int
	p.db.Reader().Get(&failed, "SELECT failed_logins FROM officers WHERE id = ?", off.ID)
	if failed != 30 {
		t.Errorf("failed_logins %d, want 30 (every parallel failure counted)", failed)
	}
	if !hasEvent(t, p.db, "officer.login.refused", "locked") {
		t.Error("the refusal is not in the audit log as a lockout")
	}
}

// newOfficer makes a verified, enrolled officer of agency and returns a
// client signed in as them with both factors.
func newOfficer(t *testing.T, p *portal, base, agencyID, email string) *officerClient {
	t.Helper()
	var id int64
	fmt.Sscan(agencyID, &id)
	off, token, err := p.db.RegisterOfficer(ctx, id, email, "Officer "+email, "", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.db.VerifyOfficer(ctx, token); err != nil {
		t.Fatal(err)
	}
	key, _ := totp.Generate(totp.GenerateOpts{Issuer: "envelope", AccountName: email})
	if err := p.db.SetOfficerSecret(ctx, off.ID, key.Secret()); err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(key.Secret(), p.db.Now())
	sess, err := p.db.CreateOfficerSession(ctx, off.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.db.ConfirmOfficerTOTP(ctx, off.ID, sess, code, agency.CheckCode); err != nil {
		t.Fatal(err)
	}
	return &officerClient{t: t, base: base, cookie: sess}
}

// The agency sign-in is throttled per client address like the staff
// one, and shares its buckets: past LoginBurst tries an address gets 429
// with Retry-After, the password unchecked and the account's failures
// not counted, while another address still signs in.
func TestAgencySignInThrottledPerAddress(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	p.srv.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	ts := httptest.NewServer(p.srv)
	defer ts.Close()
	var id int64
	fmt.Sscan(agencyID(t, p.db, "Federal Bureau of Investigation"), &id)
	off, token, err := p.db.RegisterOfficer(ctx, id, "ash@fbi.gov", "SA Ash", "", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.db.VerifyOfficer(ctx, token); err != nil {
		t.Fatal(err)
	}
	guess := &officerClient{t: t, base: ts.URL, from: "203.0.113.7"}
	for i := 0; i < LoginBurst; i++ {
		if resp, _ := guess.post("/agency/login", url.Values{"email": {"nobody@fbi.gov"}, "password": {"guess"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("try %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := guess.post("/agency/login", url.Values{"email": {"ash@fbi.gov"}, "password": {"wrong"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many sign-ins") {
		t.Fatalf("past the burst: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var failed int
	p.db.Reader().Get(&failed, "SELECT failed_logins FROM officers WHERE id = ?", off.ID)
	if failed != 0 {
		t.Errorf("a throttled try counted against the account: %d", failed)
	}
	// The same address is refused on the staff sign-in too: one bucket.
	if resp, _ := guess.post("/login", url.Values{"email": {"x@example.org"}, "password": {"guess"}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("staff sign-in from the throttled address: %d", resp.StatusCode)
	}
	other := &officerClient{t: t, base: ts.URL, from: "203.0.113.8"}
	if resp, _ := other.post("/agency/login", url.Values{"email": {"ash@fbi.gov"}, "password": {"correct horse battery"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another address: %d", resp.StatusCode)
	}
}

// Behind a trusted proxy that says the client came over https, the agency
// session cookie is Secure, as the staff one is; from an untrusted peer
// the same header earns nothing.
func TestAgencyCookieSecureBehindTrustedProxy(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	p.srv.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	var id int64
	fmt.Sscan(agencyID(t, p.db, "Federal Bureau of Investigation"), &id)
	_, token, err := p.db.RegisterOfficer(ctx, id, "rio@fbi.gov", "SA Rio", "", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.db.VerifyOfficer(ctx, token); err != nil {
		t.Fatal(err)
	}
	for _, peer := range []struct {
		addr   string
		secure bool
	}{{"10.1.2.3:5000", true}, {"203.0.113.9:5000", false}} {
		req := httptest.NewRequest("POST", "/agency/login", strings.NewReader(url.Values{"email": {"rio@fbi.gov"}, "password": {"correct horse battery"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.RemoteAddr = peer.addr
		w := httptest.NewRecorder()
		p.srv.ServeHTTP(w, req)
		var got *http.Cookie
		for _, ck := range w.Result().Cookies() {
			if ck.Name == agency.SessionCookie {
				got = ck
			}
		}
		if w.Code != http.StatusSeeOther || got == nil || got.Secure != peer.secure {
			t.Errorf("from %s: %d, cookie %+v, want Secure %v", peer.addr, w.Code, got, peer.secure)
		}
	}
}
