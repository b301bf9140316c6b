package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases/mail/mailpit"
)

// serve --demo with --smtp delivers the escalations of the demo's
// deadlines at risk to a real SMTP server, and `mail list` shows them sent.
func TestServeSendsMail(t *testing.T) {
	mp := mailpit.Start(t)
	db := filepath.Join(t.TempDir(), "e.db")
	srv := serveInProcess(t, "--demo", "--db", db, "--remind-every", "200ms", "--escalate-after", "1s", "--mail-every", "100ms",
		"--smtp", mp.SMTPURL(), "--mail-from", "Envelope <envelope@example.org>", "--public-url", "https://envelope.example.org")
	deadline := time.Now().Add(30 * time.Second)
	for len(mp.Messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, srv.stderr.String())
	}
	got := mp.Messages()
	if len(got) == 0 {
		t.Fatalf("no mail arrived: %s", srv.stderr.String())
	}
	m := mp.Message(got[0].ID)
	if m.From.Address != "envelope@example.org" || !strings.Contains(m.Text, "https://envelope.example.org/cases/") {
		t.Errorf("mail: from %+v\n%s", m.From, m.Text)
	}
	code, out, errOut := cli(t, db, "", "mail", "list", "--status", "sent")
	if code != 0 || !strings.Contains(out, "supervisor@demo.envelope.test") || !strings.Contains(out, "(smtp)") {
		t.Errorf("mail list: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := cli(t, db, "", "mail", "retry", "1"); code != 1 || !strings.Contains(errOut, "not a failed message") {
		t.Errorf("retrying a sent message: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, db, "", "mail", "retry", "x"); code != 2 || !strings.Contains(errOut, "not a message id") {
		t.Errorf("retry x: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, db, "", "mail", "list", "--status", "lost"); code != 2 || !strings.Contains(errOut, "--status") {
		t.Errorf("bad status: %d %s", code, errOut)
	}
}

// Bad mail settings stop serve before it serves, naming the flag.
func TestServeRefusesBadMailSettings(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp", "http://mail.example.org"}, "--smtp"},
		{[]string{"--smtp", "smtp://127.0.0.1:2525"}, "--mail-from"},
		{[]string{"--mail-templates", filepath.Join(dir, "missing")}, "mail templates"},
	} {
		args := append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--keys", filepath.Join(dir, "k"), "--packages", filepath.Join(dir, "p")}, c.args...)
		if code, _, errOut := cli(t, db, "", args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %s", c.args, code, errOut)
		}
	}
}
