package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"envelope/cases"
	"envelope/cases/mail"
	"envelope/cases/mail/mailpit"
	"envelope/cases/store/storetest"
)

// mailReady gives f's server a mailer, the organisation its profile (the
// notice letter needs it), and a real SMTP server with a sender to it.
func mailReady(t *testing.T, f *fixture) (*mailpit.Server, *mail.Sender) {
	t.Helper()
	mp := mailpit.Start(t)
	f.srv.Mail = &mail.Mailer{DB: f.db, Templates: mail.DefaultTemplates(), BaseURL: "http://portal.example"}
	org := &cases.Org{LegalName: "Example Messaging, Inc.", Address: "1 Main St", ContactEmail: "lers@example.com",
		CustodianName: "Jordan Lee", CustodianTitle: "Custodian of Records"}
	if err := f.db.SetOrg(ctx, "test", org); err != nil {
		t.Fatal(err)
	}
	smtp, _ := mail.ParseSMTP(mp.SMTPURL())
	snd := &mail.Sender{DB: f.db, SMTP: smtp, From: "Legal <legal@example.com>"}
	if err := snd.Check(); err != nil {
		t.Fatal(err)
	}
	return mp, snd
}

var processPDF = []byte("%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n")

func uploadProcess(t *testing.T, f *fixture, number string) {
	t.Helper()
	req := httptest.NewRequest("PUT", "/api/v1/cases/"+number+"/document?filename=order.pdf", bytes.NewReader(processPDF))
	req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleIntake])
	req.Header.Set("Content-Type", "application/pdf")
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	if w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
}

// deliveredNotice flushes the queue and checks the one message that
// arrived: to the holder, with the letter and the process attached.
func deliveredNotice(t *testing.T, mp *mailpit.Server, snd *mail.Sender, number, to string) {
	t.Helper()
	if sent, failed, err := snd.Flush(ctx); err != nil || sent != 1 || failed != 0 {
		t.Fatalf("flush: %d %d %v", sent, failed, err)
	}
	list := mp.Messages()
	if len(list) != 1 || list[0].To[0].Address != to || !strings.Contains(list[0].Subject, number) {
		t.Fatalf("delivered: %+v", list)
	}
	m := mp.Message(list[0].ID)
	if len(m.Attachments) != 2 || m.Attachments[0].FileName != "notice-"+number+".pdf" || m.Attachments[1].FileName != "order.pdf" {
		t.Fatalf("attachments: %+v", m.Attachments)
	}
	if !bytes.HasPrefix(mp.Part(m.ID, m.Attachments[0].PartID), []byte("%PDF")) {
		t.Error("the notice letter is not a PDF")
	}
	if !bytes.Equal(mp.Part(m.ID, m.Attachments[1].PartID), processPDF) {
		t.Error("the process arrived changed")
	}
}

// Recording a notice sent with an address e-mails the account holder,
// through a real SMTP server, the user-notice letter and a copy of the
// process; a bad address is 400 naming email_to, a case without its
// process document is 409, and neither records a notice or queues mail.
func TestNoticeEmailWithProcess(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	mp, snd := mailReady(t, f)
	c := f.create(cases.RoleIntake, "subpoena.json")
	path := "/api/v1/cases/" + c.Number + "/notice"
	send := []byte(`{"kind": "sent", "email_to": "holder@example.net"}`)
	if w := f.do(cases.RoleIntake, "POST", path, send, nil); w.Code != 409 || !strings.Contains(w.Body.String(), "process document") {
		t.Fatalf("without a document: %d %s", w.Code, w.Body)
	}
	if w := f.do(cases.RoleIntake, "POST", path, []byte(`{"kind": "sent", "email_to": "not an address"}`), nil); w.Code != 400 || !strings.Contains(w.Body.String(), "email_to") {
		t.Fatalf("bad address: %d %s", w.Code, w.Body)
	}
	if w := f.do(cases.RoleIntake, "POST", path, []byte(`{"kind": "exception", "note": "x", "email_to": "holder@example.net"}`), nil); w.Code != 400 || !strings.Contains(w.Body.String(), "email_to") {
		t.Fatalf("exception with an address: %d %s", w.Code, w.Body)
	}
	uploadProcess(t, f, c.Number)
	if l, _ := mail.List(ctx, f.db, "", 10); len(l) != 0 {
		t.Fatalf("refused notices queued mail: %+v", l)
	}
	if rec, _ := f.db.NoticeRecord(ctx, c.ID); rec != nil {
		t.Fatalf("a refused notice was recorded: %+v", rec)
	}
	var rec cases.NoticeRecord
	if w := f.do(cases.RoleIntake, "POST", path, send, &rec); w.Code != 201 || rec.Kind != "sent" || !strings.Contains(rec.Method, "holder@example.net") {
		t.Fatalf("notice: %d %s", w.Code, w.Body)
	}
	deliveredNotice(t, mp, snd, c.Number, "holder@example.net")
}

// The same in the browser: the case page's notice form with an address
// records the notice and sends the letter and the process.
func TestE2ENoticeEmailed(t *testing.T) {
	bctx := browser(t)
	p, base := e2ePortal(t)
	mp, snd := mailReady(t, p.fixture)
	c := p.create(cases.RoleIntake, "subpoena.json")
	uploadProcess(t, p.fixture, c.Number)
	var state string
	err := chromedp.Do(bctx,
		signIn(base, p.emails[cases.RoleReviewer]),
		chromedp.Navigate(base+"/cases/"+itoa(c.ID)),
		chromedp.WaitVisible(chromedp.ID(`notice-form`)),
		chromedp.SetValue(chromedp.ID(`notice-email`), "holder@example.net"),
		chromedp.Click(chromedp.ID(`notice-submit`)),
		chromedp.WaitNotPresent(chromedp.ID(`notice-form`)),
		text(`#notice-state`, &state),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(state, "Notice sent") {
		t.Errorf("after the form: %q", state)
	}
	deliveredNotice(t, mp, snd, c.Number, "holder@example.net")
}

// The agency portal's verification link goes out through the server's mail
// queue to a real SMTP server, and the link in the delivered mail
// activates the registration.
func TestAgencyVerificationMailed(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	mp, snd := mailReady(t, p.fixture)
	ts := httptest.NewServer(p.srv)
	defer ts.Close()
	o := &officerClient{t: t, base: ts.URL}
	fbi := fmt.Sprint(agencyID(t, p.db, "Federal Bureau of Investigation"))
	resp, body := o.post("/agency/register", url.Values{"agency": {fbi}, "email": {"kim@ic.fbi.gov"}, "name": {"SA Dana Kim"}, "phone": {"+12025550100"}, "password": {"correct horse battery"}})
	expect(t, "register", resp, body, http.StatusSeeOther, "/agency/login")
	if sent, failed, err := snd.Flush(ctx); err != nil || sent != 1 || failed != 0 {
		t.Fatalf("flush: %d %d %v", sent, failed, err)
	}
	list := mp.Messages()
	if len(list) != 1 || list[0].To[0].Address != "kim@ic.fbi.gov" {
		t.Fatalf("delivered: %+v", list)
	}
	m := regexp.MustCompile(`/agency/verify\?token=(\S+)`).FindStringSubmatch(mp.Message(list[0].ID).Text)
	if m == nil {
		t.Fatalf("no link in the mail:\n%s", mp.Message(list[0].ID).Text)
	}
	token, _ := url.QueryUnescape(m[1])
	if resp, body := o.get("/agency/verify?token=" + url.QueryEscape(token)); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Confirm my email") {
		t.Fatalf("verify page from the mailed link: %d\n%s", resp.StatusCode, body)
	}
}
