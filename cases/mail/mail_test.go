package mail_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases/mail"
	"envelope/cases/mail/mailpit"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

var ctx = context.Background()

func queue(t *testing.T, db *store.DB, m *mail.Mailer, to string) *mail.Message {
	t.Helper()
	var msg *mail.Message
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		msg, err = m.Queue(ctx, tx, to, mail.TmplAlert, "alert", nil,
			mail.Data{CaseNumber: "ENV-2026-000042", Link: m.Link("/cases/42"), DueAt: "3 December 2026 12:00 UTC"},
			mail.Attachment{Filename: "a.txt", ContentType: "text/plain", Content: []byte("attached")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// A mail server outage loses nothing: a message queued while the server is
// down fails its attempt (recorded, retried later with backoff), stays
// queued, and goes out exactly once when the server is back. Both engines.
func TestOutageLosesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		mp := mailpit.New(t) // ports chosen, server not running yet
		smtp, err := mail.ParseSMTP(mp.SMTPURL())
		if err != nil {
			t.Fatal(err)
		}
		smtp.Timeout = 5 * time.Second
		snd := &mail.Sender{DB: db, SMTP: smtp, From: "envelope@example.org", Backoff: time.Minute}
		if err := snd.Check(); err != nil {
			t.Fatal(err)
		}
		m := &mail.Mailer{DB: db, Templates: mail.DefaultTemplates(), BaseURL: "http://portal.example/"}
		msg := queue(t, db, m, "assignee@example.org")

		sent, failed, err := snd.Flush(ctx)
		if err != nil || sent != 0 || failed != 1 {
			t.Fatalf("server down: sent %d failed %d err %v", sent, failed, err)
		}
		got, err := mail.Get(ctx, db, msg.ID)
		if err != nil || got.Status != mail.StatusQueued || got.Attempts != 1 || got.LastError == "" || !got.NextAttemptAt.After(now) {
			t.Fatalf("after the failure: %+v %v", got, err)
		}
		// Not due yet: nothing tried, even with the server back.
		mp.Start()
		if sent, failed, _ := snd.Flush(ctx); sent+failed != 0 {
			t.Fatalf("retried before its backoff: %d %d", sent, failed)
		}
		now = now.Add(2 * time.Minute)
		if sent, failed, err := snd.Flush(ctx); err != nil || sent != 1 || failed != 0 {
			t.Fatalf("server back: sent %d failed %d err %v", sent, failed, err)
		}
		if sent, failed, _ := snd.Flush(ctx); sent+failed != 0 {
			t.Fatalf("sent again: %d %d", sent, failed)
		}
		list := mp.Messages()
		if len(list) != 1 || list[0].Subject != "Deadline at risk: case ENV-2026-000042" || list[0].To[0].Address != "assignee@example.org" {
			t.Fatalf("delivered: %+v", list)
		}
		full := mp.Message(list[0].ID)
		if !strings.Contains(full.Text, "http://portal.example/cases/42") || len(full.Attachments) != 1 || full.Attachments[0].FileName != "a.txt" {
			t.Fatalf("message: %+v", full)
		}
		if string(mp.Part(full.ID, full.Attachments[0].PartID)) != "attached" {
			t.Error("attachment content changed in transit")
		}
		got, _ = mail.Get(ctx, db, msg.ID)
		if got.Status != mail.StatusSent || got.Attempts != 2 || got.Transport != "smtp" || got.SentAt == nil || len(got.Attachments) != 0 {
			t.Fatalf("after delivery: %+v", got)
		}
		// Each step is audited, and no body reaches the audit log.
		evs, err := db.Events(ctx, "mail", strconv.FormatInt(msg.ID, 10))
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
			if strings.Contains(string(e.After), "portal.example") {
				t.Errorf("the body reached the audit log: %s", e.After)
			}
		}
		if strings.Join(actions, ",") != "mail.enqueue,mail.fail,mail.sent" {
			t.Errorf("audited %v", actions)
		}
	})
}

// Without --smtp the sender prints what it would send, links included, and
// marks it sent by "log": nothing is silently dropped.
func TestWithoutSMTPPrints(t *testing.T) {
	db := storetest.SQLite(t)
	var out bytes.Buffer
	snd := &mail.Sender{DB: db, Out: &out}
	m := &mail.Mailer{DB: db, Templates: mail.DefaultTemplates(), BaseURL: "http://127.0.0.1:8080"}
	msg := queue(t, db, m, "someone@example.org")
	if sent, _, err := snd.Flush(ctx); err != nil || sent != 1 {
		t.Fatalf("flush: %d %v", sent, err)
	}
	for _, want := range []string{"To: someone@example.org", "http://127.0.0.1:8080/cases/42", "Attachment: a.txt"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed mail lacks %q:\n%s", want, out.String())
		}
	}
	if got, _ := mail.Get(ctx, db, msg.ID); got.Status != mail.StatusSent || got.Transport != "log" {
		t.Errorf("after printing: %+v", got)
	}
}

// Bad input is refused naming the field, and nothing is queued.
func TestEnqueueRefusesBadAddress(t *testing.T) {
	db := storetest.SQLite(t)
	m := &mail.Mailer{DB: db, Templates: mail.DefaultTemplates()}
	for _, to := range []string{"", "not an address", "a@example.org\r\nBcc: x@example.org"} {
		err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			_, err := m.Queue(ctx, tx, to, mail.TmplAlert, "alert", nil, mail.Data{CaseNumber: "X"})
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "to") {
			t.Errorf("%q: %v", to, err)
		}
	}
	if l, _ := mail.List(ctx, db, "", 10); len(l) != 0 {
		t.Errorf("queued %d", len(l))
	}
}

// A template directory overrides the embedded one; a file whose name is no
// template, or without its Subject line, is refused with its name.
func TestTemplateOverrides(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "deadline_at_risk.tmpl"), []byte("Subject: Hurry: {{.CaseNumber}}\n\nSee {{.Link}}\n"), 0o600)
	ts, err := mail.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	subj, body, err := ts.Render(mail.TmplAlert, mail.Data{CaseNumber: "C-1", Link: "L"})
	if err != nil || subj != "Hurry: C-1" || body != "See L\n" {
		t.Fatalf("%q %q %v", subj, body, err)
	}
	if _, _, err := ts.Render(mail.TmplEscalation, mail.Data{CaseNumber: "C-1"}); err != nil {
		t.Errorf("the default escalation: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "deadline_at_risk.tmpl"), []byte("Hurry\n"), 0o600)
	if _, err := mail.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "deadline_at_risk.tmpl") {
		t.Errorf("no subject: %v", err)
	}
	os.Remove(filepath.Join(dir, "deadline_at_risk.tmpl"))
	os.WriteFile(filepath.Join(dir, "deadline_at_rsik.tmpl"), []byte("Subject: x\n"), 0o600)
	if _, err := mail.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "deadline_at_rsik.tmpl") {
		t.Errorf("misspelt name: %v", err)
	}
}

// After the attempts allowed a message is marked failed, kept with its
// last error, and sent once an operator requeues it; a sent message cannot
// be requeued.
func TestFailedAndRequeued(t *testing.T) {
	db := storetest.SQLite(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	mp := mailpit.New(t)
	smtp, _ := mail.ParseSMTP(mp.SMTPURL())
	snd := &mail.Sender{DB: db, SMTP: smtp, From: "envelope@example.org", MaxAttempts: 2, Backoff: time.Second}
	msg := queue(t, db, &mail.Mailer{DB: db, Templates: mail.DefaultTemplates()}, "a@example.org")
	for i := 0; i < 3; i++ {
		snd.Flush(ctx)
		now = now.Add(time.Minute)
	}
	got, _ := mail.Get(ctx, db, msg.ID)
	if got.Status != mail.StatusFailed || got.Attempts != 2 || got.LastError == "" || len(got.Attachments) != 1 {
		t.Fatalf("after the attempts allowed: %+v", got)
	}
	mp.Start()
	if err := mail.Requeue(ctx, db, "cli:mail retry", msg.ID); err != nil {
		t.Fatal(err)
	}
	if sent, _, err := snd.Flush(ctx); sent != 1 || err != nil {
		t.Fatalf("requeued: %d %v", sent, err)
	}
	if len(mp.Messages()) != 1 {
		t.Fatalf("delivered %d", len(mp.Messages()))
	}
	if err := mail.Requeue(ctx, db, "cli:mail retry", msg.ID); err == nil || !strings.Contains(err.Error(), "not a failed message") {
		t.Errorf("requeue a sent message: %v", err)
	}
}
