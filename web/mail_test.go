package web

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/mail"
	"envelope/cases/mail/mailpit"
	"envelope/cases/store/storetest"
)

// Recording a notice sent with an address e-mails the account holder,
// through a real SMTP server, the user-notice letter and a copy of the
// process; a bad address is 400 naming email_to, a case without its
// process document is 409, and neither records a notice or queues mail.
func TestNoticeEmailWithProcess(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, storetest.SQLite(t))
	f.srv.Mail = &mail.Mailer{DB: f.db, Templates: mail.DefaultTemplates(), BaseURL: "http://portal.example"}
	org := &cases.Org{LegalName: "Example Messaging, Inc.", Address: "1 Main St", ContactEmail: "lers@example.com",
		CustodianName: "Jordan Lee", CustodianTitle: "Custodian of Records"}
	if err := f.db.SetOrg(ctx, "test", org); err != nil {
		t.Fatal(err)
	}
	c := f.create(cases.RoleIntake, "subpoena.json")
	path := "/api/v1/cases/" + c.Number + "/notice"
	send := []byte(`{"kind": "sent", "email_to": "holder@example.net"}`)
	if w := f.do(cases.RoleIntake, "POST", path, send, nil); w.Code != 409 || !strings.Contains(w.Body.String(), "process document") {
		t.Fatalf("without a document: %d %s", w.Code, w.Body)
	}
	if w := f.do(cases.RoleIntake, "POST", path, []byte(`{"kind": "sent", "email_to": "not an address"}`), nil); w.Code != 400 || !strings.Contains(w.Body.String(), "email_to") {
		t.Fatalf("bad address: %d %s", w.Code, w.Body)
	}
	pdf := []byte("%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n")
	req := httptest.NewRequest("PUT", "/api/v1/cases/"+c.Number+"/document?filename=order.pdf", bytes.NewReader(pdf))
	req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleIntake])
	req.Header.Set("Content-Type", "application/pdf")
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	if w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	if l, _ := mail.List(ctx, f.db, "", 10); len(l) != 0 {
		t.Fatalf("refused notices queued mail: %+v", l)
	}
	var rec cases.NoticeRecord
	if w := f.do(cases.RoleIntake, "POST", path, send, &rec); w.Code != 201 || rec.Kind != "sent" || !strings.Contains(rec.Method, "holder@example.net") {
		t.Fatalf("notice: %d %s", w.Code, w.Body)
	}
	smtp, _ := mail.ParseSMTP(mp.SMTPURL())
	snd := &mail.Sender{DB: f.db, SMTP: smtp, From: "Legal <legal@example.com>"}
	if err := snd.Check(); err != nil {
		t.Fatal(err)
	}
	if sent, failed, err := snd.Flush(ctx); err != nil || sent != 1 || failed != 0 {
		t.Fatalf("flush: %d %d %v", sent, failed, err)
	}
	list := mp.Messages()
	if len(list) != 1 || list[0].To[0].Address != "holder@example.net" || !strings.Contains(list[0].Subject, c.Number) {
		t.Fatalf("delivered: %+v", list)
	}
	m := mp.Message(list[0].ID)
	if len(m.Attachments) != 2 || m.Attachments[0].FileName != "notice-"+c.Number+".pdf" || m.Attachments[1].FileName != "order.pdf" {
		t.Fatalf("attachments: %+v", m.Attachments)
	}
	if !bytes.HasPrefix(mp.Part(m.ID, m.Attachments[0].PartID), []byte("%PDF")) {
		t.Error("the notice letter is not a PDF")
	}
	if !bytes.Equal(mp.Part(m.ID, m.Attachments[1].PartID), pdf) {
		t.Error("the process arrived changed")
	}
}
