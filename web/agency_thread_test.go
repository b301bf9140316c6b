package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"envelope/cases"
	"envelope/cases/mail"
	"envelope/cases/mail/mailpit"
	"envelope/cases/store/storetest"
)

// agencyRig is a staff portal with the agency portal, a real SMTP server
// and an officer of the FBI signed in with both factors.
type agencyRig struct {
	*portal
	ts      *httptest.Server
	mp      *mailpit.Server
	snd     *mail.Sender
	fbi     string
	officer *officerClient
}

func newAgencyRig(t *testing.T) *agencyRig {
	t.Helper()
	p := newPortal(t, storetest.SQLite(t))
	dir := t.TempDir()
	if err := p.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
		t.Fatal(err)
	}
	mp, snd := mailReady(t, p.fixture)
	ts := httptest.NewServer(p.srv)
	t.Cleanup(ts.Close)
	r := &agencyRig{portal: p, ts: ts, mp: mp, snd: snd, fbi: agencyID(t, p.db, "Federal Bureau of Investigation")}
	r.officer = newOfficer(t, p, ts.URL, r.fbi, "kim@fbi.gov")
	return r
}

// multipartForm encodes fields and files (name → content) as a form.
func threadForm(fields map[string]string, field string, files map[string][]byte) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, content := range files {
		fw, _ := mw.CreateFormFile(field, name)
		fw.Write(content)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

var subpoenaForm = map[string]string{"process.type": "subpoena", "process.issuing_authority": "Grand Jury, D.D.C.",
	"process.reference": "GJ-2026-77", "target_kind": "account_id", "target_value": "acc_9f8e7d6c", "categories": "basic_subscriber_info",
	"process.issued_at": "2026-06-30", "window.from": "2026-01-01", "window.to": "2026-07-01"}

// submit sends the submission form as o and returns the new case's ID.
func (r *agencyRig) submit(t *testing.T, o *officerClient, fields map[string]string) string {
	t.Helper()
	ct, body := threadForm(fields, "document", map[string][]byte{"process.pdf": []byte("%PDF-1.4\n%process\n")})
	resp, b := o.send("POST", "/agency/cases/new", ct, body)
	expect(t, "submit", resp, b, http.StatusSeeOther, "/agency/cases/")
	return strings.TrimSuffix(strings.TrimPrefix(resp.Header.Get("Location"), "/agency/cases/"), "?done=submitted")
}

// mailTo flushes the queue and returns the text of each message that
// reached addr, oldest first.
func (r *agencyRig) mailTo(t *testing.T, addr string) []string {
	t.Helper()
	if _, failed, err := r.snd.Flush(ctx); err != nil || failed != 0 {
		t.Fatalf("flush: %d failed, %v", failed, err)
	}
	var out []string
	list := r.mp.Messages()
	for i := len(list) - 1; i >= 0; i-- {
		for _, to := range list[i].To {
			if to.Address == addr {
				m := r.mp.Message(list[i].ID)
				out = append(out, m.Subject+"\n"+m.Text)
			}
		}
	}
	return out
}

// noCaseDetails fails if a message to an agency or the legal team names
// anything of the case: its number, reference, target, or what was said.
func noCaseDetails(t *testing.T, msg string, kase *cases.Case, said ...string) {
	t.Helper()
	for _, secret := range append([]string{kase.Number, kase.Process.Reference, kase.Targets[0].Value}, said...) {
		if secret != "" && strings.Contains(msg, secret) {
			t.Errorf("the mail names %q:\n%s", secret, msg)
		}
	}
}

// The thread: staff ask for clarification in it, the officer answers
// with a PDF, each side is emailed without case details, every message is
// audited and kept after the close; bad input is refused naming the field
// and stores nothing; no one outside the case reads or writes it.
func TestAgencyThread(t *testing.T) {
	r := newAgencyRig(t)
	caseID := r.submit(t, r.officer, subpoenaForm)
	kase, err := r.db.Case(ctx, caseID)
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/cases/" + caseID + "/messages"
	question := "Which account exactly: acc_9f8e7d6c only?"
	var m cases.Message
	if w := r.do(cases.RoleReviewer, "POST", path, []byte(`{"body": "`+question+`", "kind": "clarification_request"}`), &m); w.Code != http.StatusCreated || m.Side != cases.SideStaff {
		t.Fatalf("staff message: %d %s", w.Code, w.Body)
	}
	if k, _ := r.db.Case(ctx, caseID); k.Status != cases.StatusNeedsClarification {
		t.Fatalf("a clarification request left the case %s", k.Status)
	}
	mails := r.mailTo(t, "kim@fbi.gov")
	if len(mails) != 1 || !strings.Contains(mails[0], "http://portal.example/agency/cases/"+caseID) {
		t.Fatalf("the officer's mail: %q", mails)
	}
	noCaseDetails(t, mails[0], kase, question)

	// Bad input: 400 naming the field, nothing stored.
	for _, bad := range []struct{ body, field string }{
		{`{"body": "   "}`, "body"},
		{`{"body": "x", "kind": "clarification_answer"}`, "kind"},
		{`{"body": "x", "extra": 1}`, "extra"},
	} {
		if w := r.do(cases.RoleReviewer, "POST", path, []byte(bad.body), nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), bad.field) {
			t.Errorf("%s: %d %s", bad.body, w.Code, w.Body)
		}
	}
	if w := r.do(cases.RoleAuditor, "POST", path, []byte(`{"body": "x"}`), nil); w.Code != http.StatusForbidden {
		t.Errorf("an auditor posting: %d", w.Code)
	}
	ct, body := threadForm(map[string]string{"body": "see attached", "kind": "clarification_answer"}, "attachment",
		map[string][]byte{"letter.docx": []byte("PK\x03\x04 not a pdf")})
	if resp, b := r.officer.send("POST", "/agency/cases/"+caseID+"/messages", ct, body); resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, "attachment") {
		t.Fatalf("a non-PDF attachment: %d\n%s", resp.StatusCode, b)
	}
	if list, _ := r.db.Thread(ctx, kase.ID); len(list) != 1 {
		t.Fatalf("refused messages were stored: %d in the thread", len(list))
	}

	// The officer answers with a PDF: the case returns to review and the
	// legal team (no assignee: the organisation's address) is told.
	letter := []byte("%PDF-1.4\n% the account holder's details\n%%EOF\n")
	ct, body = threadForm(map[string]string{"body": "Only acc_9f8e7d6c.", "kind": "clarification_answer"}, "attachment", map[string][]byte{"letter.pdf": letter})
	resp, b := r.officer.send("POST", "/agency/cases/"+caseID+"/messages", ct, body)
	expect(t, "answer", resp, b, http.StatusSeeOther, "/agency/cases/"+caseID+"?done=answered")
	if k, _ := r.db.Case(ctx, caseID); k.Status != cases.StatusReceived {
		t.Fatalf("the answer left the case %s", k.Status)
	}
	staff := r.mailTo(t, "lers@example.com")
	if len(staff) != 1 || !strings.Contains(staff[0], "http://portal.example/cases/"+caseID) {
		t.Fatalf("the legal team's mail: %q", staff)
	}
	noCaseDetails(t, staff[0], kase, "Only acc_9f8e7d6c")

	var thread struct {
		Agency   bool
		Messages []cases.Message
	}
	if w := r.do(cases.RoleAuditor, "GET", path, nil, &thread); w.Code != http.StatusOK || !thread.Agency || len(thread.Messages) != 2 {
		t.Fatalf("thread: %d %s", w.Code, w.Body)
	}
	ans := thread.Messages[1]
	sum := sha256.Sum256(letter)
	if ans.Side != cases.SideAgency || ans.Author != "agency:kim@fbi.gov" || len(ans.Files) != 1 || ans.Files[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("the answer as stored: %+v", ans)
	}
	fileID := fmt.Sprint(ans.Files[0].ID)
	if w := r.do(cases.RoleAuditor, "GET", path+"/files/"+fileID, nil, nil); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), letter) {
		t.Errorf("staff download of the attachment: %d", w.Code)
	}
	if resp, got := r.officer.get("/agency/cases/" + caseID + "/files/" + fileID); resp.StatusCode != http.StatusOK || got != string(letter) {
		t.Errorf("officer download of the attachment: %d", resp.StatusCode)
	}
	if n := countEvents(t, r.db, "case", kase.ID, "case.message"); n != 2 {
		t.Errorf("%d case.message events, want 2", n)
	}
	if !hasEvent(t, r.db, "case.message", ans.Files[0].SHA256) {
		t.Error("the attachment's hash is not in the audit log")
	}
	if page := r.page(cases.RoleAuditor, "GET", "/cases/"+caseID, nil).Body.String(); !strings.Contains(page, question) || !strings.Contains(page, "letter.pdf") {
		t.Error("the staff case page does not show the thread")
	}

	// Attacks: an officer of another agency, and a colleague not
	// following the case, read and post nothing of it; a file is reached
	// only through its own case.
	dea := newOfficer(t, r.portal, r.ts.URL, agencyID(t, r.db, "Drug Enforcement Administration"), "ray@dea.gov")
	colleague := newOfficer(t, r.portal, r.ts.URL, r.fbi, "lee@fbi.gov")
	other := r.submit(t, colleague, subpoenaForm)
	for _, o := range []*officerClient{dea, colleague} {
		for _, p := range []string{"/agency/cases/" + caseID, "/agency/cases/" + caseID + "/files/" + fileID, "/agency/cases/" + other + "/files/" + fileID} {
			if o == colleague && strings.HasPrefix(p, "/agency/cases/"+other+"/") {
				if resp, _ := o.get(p); resp.StatusCode != http.StatusNotFound {
					t.Errorf("a file of another case through one's own: %d", resp.StatusCode)
				}
				continue
			}
			if resp, _ := o.get(p); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s by an outsider: %d, want 404", p, resp.StatusCode)
			}
		}
		ct, body := threadForm(map[string]string{"body": "let me in"}, "attachment", nil)
		if resp, _ := o.send("POST", "/agency/cases/"+caseID+"/messages", ct, body); resp.StatusCode != http.StatusNotFound {
			t.Errorf("posting to another's thread: %d, want 404", resp.StatusCode)
		}
	}
	if list, _ := r.db.Thread(ctx, kase.ID); len(list) != 2 {
		t.Fatalf("an outsider's message was stored: %d", len(list))
	}

	// A case logged by staff has no thread with an agency.
	staffCase := r.create(cases.RoleIntake, "subpoena.json")
	if w := r.do(cases.RoleReviewer, "POST", fmt.Sprint("/api/v1/cases/", staffCase.ID, "/messages"), []byte(`{"body": "hello"}`), nil); w.Code != http.StatusConflict {
		t.Errorf("a message on a staff case: %d", w.Code)
	}

	// Kept after the close.
	if w := r.do(cases.RoleIntake, "POST", "/api/v1/cases/"+caseID+"/close", []byte(`{"reason": "answered by phone"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("close: %d %s", w.Code, w.Body)
	}
	if _, page := r.officer.get("/agency/cases/" + caseID); !strings.Contains(page, question) || !strings.Contains(page, "letter.pdf") {
		t.Error("the thread is gone from the officer's page after the close")
	}
}

// Delivery: producing a package of an agency case emails its officer and
// followers once (no case details); the staff page shows it announced,
// delivered and acknowledged; a package not downloaded in time is flagged
// on the dashboard until it is.
func TestAgencyDelivery(t *testing.T) {
	r := newAgencyRig(t)
	caseID := r.submit(t, r.officer, subpoenaForm)
	newOfficer(t, r.portal, r.ts.URL, r.fbi, "lee@fbi.gov")
	if resp, b := r.officer.post("/agency/cases/"+caseID+"/followers", url.Values{"email": {"lee@fbi.gov"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("follow: %d %s", resp.StatusCode, b)
	}
	kase, _ := r.db.Case(ctx, caseID)
	for _, step := range []struct {
		role       cases.Role
		path, body string
	}{
		{cases.RoleReviewer, "/approve", `{"note": ""}`},
		{cases.RoleIntake, "/notice", `{"kind":"sent","method":"e-mail"}`},
		{cases.RoleIntake, "/export", ``},
	} {
		var body []byte
		if step.body != "" {
			body = []byte(step.body)
		}
		if w := r.do(step.role, "POST", "/api/v1/cases/"+caseID+step.path, body, nil); w.Code >= 300 {
			t.Fatalf("%s: %d %s", step.path, w.Code, w.Body)
		}
	}
	for _, who := range []string{"kim@fbi.gov", "lee@fbi.gov"} {
		got := r.mailTo(t, who)
		if len(got) != 1 || !strings.Contains(got[0], "production ready") || !strings.Contains(got[0], "/agency/cases/"+caseID) {
			t.Fatalf("%s was told: %q", who, got)
		}
		noCaseDetails(t, got[0], kase)
	}
	if n, err := r.srv.AnnouncePackages(ctx); err != nil || n != 0 {
		t.Errorf("announced again: %d %v", n, err)
	}
	// A package produced elsewhere (envelope export, the scheduled
	// producer) is announced by the sweep serve runs.
	second := r.submit(t, r.officer, subpoenaForm)
	for _, step := range []struct {
		role       cases.Role
		path, body string
	}{{cases.RoleReviewer, "/approve", `{"note": ""}`}, {cases.RoleIntake, "/notice", `{"kind":"sent","method":"e-mail"}`}} {
		if w := r.do(step.role, "POST", "/api/v1/cases/"+second+step.path, []byte(step.body), nil); w.Code >= 300 {
			t.Fatalf("%s: %d %s", step.path, w.Code, w.Body)
		}
	}
	exp, err := r.srv.exporter()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exp.Export(ctx, "cli:test", second); err != nil {
		t.Fatal(err)
	}
	if n, err := r.srv.AnnouncePackages(ctx); err != nil || n != 1 {
		t.Errorf("the sweep announced %d packages (%v), want 1", n, err)
	}
	if got := r.mailTo(t, "kim@fbi.gov"); len(got) != 2 || !strings.Contains(got[1], "/agency/cases/"+second) {
		t.Errorf("the officer's mail after the sweep: %q", got)
	}
	if !hasEvent(t, r.db, "package.announce", "lee@fbi.gov") {
		t.Error("the announcement is not in the audit log")
	}
	if page := r.page(cases.RoleAuditor, "GET", "/cases/"+caseID, nil).Body.String(); !strings.Contains(page, "Agency emailed") {
		t.Error("the staff page does not show the announcement")
	}

	// Not downloaded within the period: flagged on the dashboard.
	dash := func() string { return r.page(cases.RoleIntake, "GET", "/dashboard", nil).Body.String() }
	if strings.Contains(dash(), `id="undelivered"`) {
		t.Fatal("flagged before the period ended")
	}
	realNow := r.srv.Now
	r.srv.Now = func() time.Time { return realNow().Add(8 * 24 * time.Hour) }
	if d := dash(); !strings.Contains(d, `id="undelivered"`) || !strings.Contains(d, kase.Number) {
		t.Fatal("a package not downloaded in 7 days is not flagged")
	}
	r.srv.Now = realNow
	_, page := r.officer.get("/agency/cases/" + caseID)
	link := strings.SplitN(strings.SplitN(page, `href="/agency/download/`, 2)[1], `"`, 2)[0]
	if resp, _ := r.officer.get("/agency/download/" + link); resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	r.srv.Now = func() time.Time { return realNow().Add(8 * 24 * time.Hour) }
	if d := dash(); strings.Contains(d, kase.Number) || !strings.Contains(d, `id="undelivered"`) {
		t.Error("still flagged after the download, or the other package no longer")
	}
	// The link expired long ago: replayed, it is refused.
	if resp, _ := r.officer.get("/agency/download/" + link); resp.StatusCode != http.StatusGone {
		t.Errorf("an expired link replayed: %d, want 410", resp.StatusCode)
	}
	r.srv.Now = realNow
	pkgs, _ := r.db.Deliveries(ctx, kase.ID)
	for id := range pkgs {
		resp, b := r.officer.post(fmt.Sprint("/agency/cases/", caseID, "/packages/", id, "/acknowledge"), nil)
		expect(t, "acknowledge", resp, b, http.StatusSeeOther, "/agency/cases/"+caseID)
	}
	if page := r.page(cases.RoleAuditor, "GET", "/cases/"+caseID, nil).Body.String(); !strings.Contains(page, "<strong>Delivered</strong>") || !strings.Contains(page, "<strong>acknowledged</strong>") {
		t.Error("the staff page does not show delivered and acknowledged")
	}
}

// A suspended agency's officers cannot sign in or act, and their sessions
// end at once; other agencies are untouched; reinstating gives access
// back. Only an admin may, with a reason; both are audited.
func TestAgencySuspension(t *testing.T) {
	r := newAgencyRig(t)
	caseID := r.submit(t, r.officer, subpoenaForm)
	dea := newOfficer(t, r.portal, r.ts.URL, agencyID(t, r.db, "Drug Enforcement Administration"), "ray@dea.gov")
	path := "/api/v1/agencies/" + r.fbi
	if w := r.do(cases.RoleSupervisor, "POST", path+"/suspend", []byte(`{"reason": "compromised mailboxes"}`), nil); w.Code != http.StatusForbidden {
		t.Errorf("a supervisor suspending: %d", w.Code)
	}
	if w := r.do(cases.RoleAdmin, "POST", path+"/suspend", []byte(`{"reason": ""}`), nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "reason") {
		t.Errorf("no reason: %d %s", w.Code, w.Body)
	}
	if w := r.do(cases.RoleAdmin, "POST", path+"/suspend", []byte(`{"reason": "compromised mailboxes"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("suspend: %d %s", w.Code, w.Body)
	}
	if w := r.do(cases.RoleAdmin, "POST", path+"/suspend", []byte(`{"reason": "again"}`), nil); w.Code != http.StatusConflict {
		t.Errorf("suspending twice: %d", w.Code)
	}
	resp, b := r.officer.get("/agency/cases/" + caseID)
	expect(t, "a suspended agency's officer", resp, b, http.StatusSeeOther, "/agency/login")
	ct, body := threadForm(map[string]string{"body": "still here?"}, "attachment", nil)
	if resp, _ := r.officer.send("POST", "/agency/cases/"+caseID+"/messages", ct, body); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a suspended agency's officer posting: %d", resp.StatusCode)
	}
	if resp, _ := r.officer.post("/agency/cases/"+caseID+"/withdraw", url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a suspended agency's officer withdrawing: %d", resp.StatusCode)
	}
	if resp, _ := dea.get("/agency/cases"); resp.StatusCode != http.StatusOK {
		t.Errorf("another agency's officer: %d", resp.StatusCode)
	}
	// Signing in with the right password and code: the same answer as a
	// wrong one.
	secret, _ := r.db.OfficerSecret(ctx, officerByEmail(t, r.portal, "kim@fbi.gov"))
	signIn := func(offset time.Duration) *http.Response {
		code, _ := totp.GenerateCode(secret, r.db.Now().Add(offset))
		o := &officerClient{t: t, base: r.ts.URL}
		resp, _ := o.post("/agency/login", url.Values{"email": {"kim@fbi.gov"}, "password": {"correct horse battery"}, "code": {code}})
		return resp
	}
	if resp := signIn(30 * time.Second); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a suspended agency's officer signing in: %d", resp.StatusCode)
	}
	if !hasEvent(t, r.db, "agency.suspend", "compromised mailboxes") || !hasEvent(t, r.db, "officer.login.refused", "suspended") {
		t.Error("the suspension or the refusal is not in the audit log")
	}
	if w := r.do(cases.RoleAdmin, "POST", path+"/reinstate", []byte(`{"reason": "mailboxes secured"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("reinstate: %d %s", w.Code, w.Body)
	}
	if resp := signIn(30 * time.Second); resp.StatusCode != http.StatusSeeOther { // the refused sign-in spent no step
		t.Errorf("signing in after reinstatement: %d", resp.StatusCode)
	}
	if !hasEvent(t, r.db, "agency.reinstate", "mailboxes secured") {
		t.Error("the reinstatement is not in the audit log")
	}
	// The same from the agency's page in the staff portal.
	page := "/admin/agencies/" + r.fbi
	if w := r.page(cases.RoleAdmin, "POST", page+"/suspend", url.Values{"reason": {""}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "suspension-reason-err") {
		t.Errorf("the portal's form without a reason: %d", w.Code)
	}
	if w := r.page(cases.RoleAdmin, "POST", page+"/suspend", url.Values{"reason": {"phishing reported"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("the portal's suspension: %d %s", w.Code, w.Body)
	}
	if w := r.page(cases.RoleAdmin, "GET", page, nil); !strings.Contains(w.Body.String(), "phishing reported") || !strings.Contains(w.Body.String(), "Reinstate the agency") {
		t.Error("the agency page does not show the suspension")
	}
	if s, _ := r.db.AgencySuspended(ctx, officerAgency(t, r.portal, "kim@fbi.gov")); s == nil {
		t.Error("the portal's form suspended nothing")
	}
}

func officerByEmail(t *testing.T, p *portal, email string) int64 {
	t.Helper()
	list, _ := p.db.Officers(ctx, 0)
	for _, o := range list {
		if o.Email == email {
			return o.ID
		}
	}
	t.Fatalf("no officer %s", email)
	return 0
}

// An officer whose email was confirmed longer ago than the period must
// confirm it again, over a new emailed link, before doing anything.
func TestAgencyReverify(t *testing.T) {
	r := newAgencyRig(t)
	box := &mailbox{}
	r.srv.AgencyMail = box
	caseID := r.submit(t, r.officer, subpoenaForm)
	id := officerByEmail(t, r.portal, "kim@fbi.gov")
	if _, err := r.db.Writer().ExecContext(ctx, r.db.Writer().Rebind("UPDATE officers SET verified_at = ? WHERE id = ?"), r.db.Now().Add(-91*24*time.Hour), id); err != nil {
		t.Fatal(err)
	}
	resp, page := r.officer.get("/agency/cases/" + caseID)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Email me a new link") {
		t.Fatalf("past the period: %d\n%s", resp.StatusCode, page)
	}
	ct, body := threadForm(map[string]string{"body": "hello"}, "attachment", nil)
	if resp, _ := r.officer.send("POST", "/agency/cases/"+caseID+"/messages", ct, body); resp.StatusCode != http.StatusForbidden {
		t.Errorf("posting past the period: %d", resp.StatusCode)
	}
	resp, b := r.officer.post("/agency/reverify", nil)
	expect(t, "ask for a link", resp, b, http.StatusSeeOther, "/agency/cases?done=reverify")
	m := strings.Fields(strings.SplitN(box.last(), "/agency/reverify?token=", 2)[1])[0]
	token, _ := url.QueryUnescape(m)
	if resp, page := r.officer.get("/agency/reverify?token=" + url.QueryEscape(token)); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Confirm my email address") {
		t.Fatalf("the link's page: %d", resp.StatusCode)
	}
	resp, b = r.officer.post("/agency/reverify/confirm", url.Values{"token": {token}})
	expect(t, "confirm again", resp, b, http.StatusSeeOther, "/agency/cases?done=reverified")
	if resp, _ := r.officer.post("/agency/reverify/confirm", url.Values{"token": {token}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the link spent twice: %d", resp.StatusCode)
	}
	if resp, _ := r.officer.get("/agency/cases/" + caseID); resp.StatusCode != http.StatusOK {
		t.Errorf("after confirming: %d", resp.StatusCode)
	}
	if !hasEvent(t, r.db, "officer.reverify", "verified_at") {
		t.Error("the confirmation is not in the audit log")
	}
}

func officerAgency(t *testing.T, p *portal, email string) int64 {
	t.Helper()
	o, err := p.db.Officer(ctx, officerByEmail(t, p, email))
	if err != nil {
		t.Fatal(err)
	}
	return o.AgencyID
}
