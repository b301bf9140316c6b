package remind_test

import (
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/mail"
	"envelope/cases/mail/mailpit"
	"envelope/cases/remind"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A deadline at risk e-mails the case's assignee, and its escalation every
// supervisor, through a real SMTP server; the mail names the case by its
// number and a link only, never the agency or a target.
func TestAlertEmailsAssigneeAndSupervisors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		mp := mailpit.Start(t)
		now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		sup, _, err := db.CreateUser(ctx, "test", "sup@example.org", cases.RoleSupervisor)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.CreateUser(ctx, "test", "reviewer@example.org", cases.RoleReviewer); err != nil {
			t.Fatal(err)
		}
		c := logCase(t, db, cases.Subpoena, now.Add(-6*24*time.Hour), now.Add(4*24*time.Hour), false)
		if err := db.Assign(ctx, sup, c.Number, "reviewer@example.org"); err != nil {
			t.Fatal(err)
		}
		smtp, _ := mail.ParseSMTP(mp.SMTPURL())
		snd := &mail.Sender{DB: db, SMTP: smtp, From: "envelope@example.org"}
		r := &remind.Reminder{DB: db, Config: remind.DefaultConfig,
			Mail: &mail.Mailer{DB: db, Templates: mail.DefaultTemplates(), BaseURL: "https://envelope.example.org"}}

		now = now.Add(time.Minute) // the alert is raised after the assignment
		if raised, _, err := r.Scan(ctx, now); err != nil || len(raised) != 1 {
			t.Fatalf("raised %v %v", raised, err)
		}
		if sent, failed, err := snd.Flush(ctx); err != nil || sent != 1 || failed != 0 {
			t.Fatalf("flush: %d %d %v", sent, failed, err)
		}
		now = now.Add(2 * time.Hour)
		if _, esc, err := r.Scan(ctx, now); err != nil || len(esc) != 1 {
			t.Fatalf("escalated %v %v", esc, err)
		}
		if sent, _, err := snd.Flush(ctx); err != nil || sent != 1 {
			t.Fatalf("flush escalation: %d %v", sent, err)
		}
		got := map[string]*mailpit.Message{}
		for _, s := range mp.Messages() {
			got[s.To[0].Address] = mp.Message(s.ID)
		}
		if len(got) != 2 || got["reviewer@example.org"] == nil || got["sup@example.org"] == nil {
			t.Fatalf("delivered to %v", got)
		}
		link := "https://envelope.example.org/cases/"
		for to, m := range got {
			if !strings.Contains(m.Subject, c.Number) || !strings.Contains(m.Text, link) || !strings.Contains(m.Text, c.Number) {
				t.Errorf("%s: %q\n%s", to, m.Subject, m.Text)
			}
			for _, secret := range []string{"+33612345678", "Agency", "danger"} {
				if strings.Contains(m.Text, secret) || strings.Contains(m.Subject, secret) {
					t.Errorf("%s: the mail names %q:\n%s", to, secret, m.Text)
				}
			}
		}
		if !strings.HasPrefix(got["sup@example.org"].Subject, "Escalated") {
			t.Errorf("supervisor's subject: %q", got["sup@example.org"].Subject)
		}
	})
}

// An alert on a case nobody is assigned to e-mails the supervisors at once
// (before, no one heard of it until it escalated an hour later), and each
// mail gives the deadline in its recipient's time zone: their own, else the
// organisation's.
func TestUnassignedAlertMailsSupervisorsInTheirZones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		mp := mailpit.Start(t)
		now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		if err := db.SetOrgZone(ctx, "test", "America/New_York"); err != nil {
			t.Fatal(err)
		}
		berlin, _, err := db.CreateUser(ctx, "test", "berlin@example.org", cases.RoleSupervisor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetUserZone(ctx, "test", berlin.ID, "Europe/Berlin"); err != nil {
			t.Fatal(err)
		}
		for _, u := range []struct {
			email string
			role  cases.Role
		}{{"nyc@example.org", cases.RoleSupervisor}, {"reviewer@example.org", cases.RoleReviewer}} {
			if _, _, err := db.CreateUser(ctx, "test", u.email, u.role); err != nil {
				t.Fatal(err)
			}
		}
		due := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		c := logCase(t, db, cases.Subpoena, now.Add(-6*24*time.Hour), due, false)
		smtp, _ := mail.ParseSMTP(mp.SMTPURL())
		snd := &mail.Sender{DB: db, SMTP: smtp, From: "envelope@example.org"}
		r := &remind.Reminder{DB: db, Config: remind.DefaultConfig,
			Mail: &mail.Mailer{DB: db, Templates: mail.DefaultTemplates(), BaseURL: "https://envelope.example.org"}}
		now = now.Add(time.Minute)
		if raised, _, err := r.Scan(ctx, now); err != nil || len(raised) != 1 {
			t.Fatalf("raised %v %v", raised, err)
		}
		if sent, failed, err := snd.Flush(ctx); err != nil || sent != 2 || failed != 0 {
			t.Fatalf("flush: %d %d %v", sent, failed, err)
		}
		want := map[string]string{
			"berlin@example.org": "24 November 2026 13:00 CET (+01:00)",
			"nyc@example.org":    "24 November 2026 07:00 EST (-05:00)",
		}
		got := map[string]bool{}
		for _, s := range mp.Messages() {
			to := s.To[0].Address
			m := mp.Message(s.ID)
			got[to] = true
			if want[to] == "" || !strings.Contains(m.Text, want[to]) || !strings.Contains(m.Subject, "nobody assigned") || !strings.Contains(m.Subject, c.Number) {
				t.Errorf("%s: %q\n%s", to, m.Subject, m.Text)
			}
		}
		if len(got) != 2 {
			t.Errorf("delivered to %v, want the two supervisors", got)
		}
	})
}
