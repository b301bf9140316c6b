package store_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// agencyCase registers the FBI and its verified officer kim@fbi.gov, who
// submits a subpoena with the process document pdf; token is the
// officer's registration token, spent.
func agencyCase(t *testing.T, db *store.DB, pdf []byte) (ag *store.AgencyEntry, o *store.Officer, token string, kase *cases.Case) {
	t.Helper()
	ag, err := db.CreateAgency(ctx, cases.System, fbi())
	if err != nil {
		t.Fatal(err)
	}
	o, token, err = db.RegisterOfficer(ctx, ag.ID, "kim@fbi.gov", "SA Kim", "", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if o, err = db.VerifyOfficer(ctx, token); err != nil {
		t.Fatal(err)
	}
	kase, err = db.SubmitAgencyCase(ctx, o, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)}, "p.pdf", pdf)
	if err != nil {
		t.Fatal(err)
	}
	return ag, o, token, kase
}

// The agency portal's thread, announcements, agency suspension and
// re-verification on both engines.
func TestThreadDeliveryStanding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ag, o, token, kase := agencyCase(t, db, []byte("%PDF-1.4\n"))
		ref := strconv.FormatInt(kase.ID, 10)
		if _, _, err := db.CreateUser(ctx, "test", "rita@example.org", cases.RoleReviewer); err != nil {
			t.Fatal(err)
		}
		rita, _ := db.UserByEmail(ctx, "rita@example.org")
		hooked := 0
		hook := func(tx *sqlx.Tx, c *cases.Case, m *cases.Message) error { hooked++; return nil }
		if _, err := db.PostMessage(ctx, store.Poster{Staff: rita}, ref, cases.MessageClarificationRequest, "Which account?", nil, hook); err != nil {
			t.Fatal(err)
		}
		pdf := []byte("%PDF-1.4\n% answer\n")
		m, err := db.PostMessage(ctx, store.Poster{Officer: o}, ref, cases.MessageClarificationAnswer, "This one.", []cases.Upload{{Filename: "../a.pdf", Content: pdf}}, hook)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := db.Case(ctx, ref); k.Status != cases.StatusReceived || hooked != 2 {
			t.Fatalf("after the answer: %s, hook ran %d times", k.Status, hooked)
		}
		thread, err := db.Thread(ctx, kase.ID)
		if err != nil || len(thread) != 2 || len(thread[1].Files) != 1 || thread[1].Files[0].Filename != "a.pdf" {
			t.Fatalf("thread: %+v %v", thread, err)
		}
		f, content, err := db.MessageFile(ctx, kase.ID, m.Files[0].ID)
		if err != nil || !bytes.Equal(content, pdf) || f.SHA256 != m.Files[0].SHA256 {
			t.Fatalf("file: %v", err)
		}
		// A failing hook leaves nothing: no message, no status change.
		fail := func(*sqlx.Tx, *cases.Case, *cases.Message) error {
			return cases.Errorf(cases.ECONFLICT, "mail refused")
		}
		if _, err := db.PostMessage(ctx, store.Poster{Staff: rita}, ref, cases.MessageClarificationRequest, "Again?", nil, fail); err == nil {
			t.Fatal("a failing hook was ignored")
		}
		if k, _ := db.Case(ctx, ref); k.Status != cases.StatusReceived {
			t.Errorf("a rolled-back clarification left the case %s", k.Status)
		}
		if th, _ := db.Thread(ctx, kase.ID); len(th) != 2 {
			t.Errorf("a rolled-back message was kept: %d", len(th))
		}

		// Announcement: once per package, to the active officers.
		var pkgID int64
		if err := db.Writer().GetContext(ctx, &pkgID, db.Writer().Rebind(`INSERT INTO packages
			(case_id, seq, file_name, sha256, size, records, last_pair_id, covered_until, created_by, created_at)
			VALUES (?, 1, 'p.zip', 'abc', 1, 1, 0, ?, 'test', ?) RETURNING id`), kase.ID, db.Now(), db.Now()); err != nil {
			t.Fatal(err)
		}
		var told []string
		announce := func(_ *sqlx.Tx, _ int64, to []string) error { told = append(told, to...); return nil }
		for i, want := range []bool{true, false} {
			done, err := db.AnnouncePackage(ctx, pkgID, announce)
			if err != nil || done != want {
				t.Fatalf("announcement %d: %v %v", i, done, err)
			}
		}
		if len(told) != 1 || told[0] != "kim@fbi.gov" {
			t.Errorf("told %v", told)
		}
		if list, _ := db.UnannouncedPackages(ctx, 10); len(list) != 0 {
			t.Errorf("still unannounced: %v", list)
		}
		if list, err := db.UndownloadedPackages(ctx, db.Now().Add(time.Hour), 10); err != nil || len(list) != 1 || list[0].Number != kase.Number {
			t.Errorf("undownloaded: %+v %v", list, err)
		}

		// Suspending the agency ends its officers' sessions and sign-ins.
		sess, err := db.CreateOfficerSession(ctx, o.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.CreateUser(ctx, "test", "ada@example.org", cases.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		ada, _ := db.UserByEmail(ctx, "ada@example.org")
		if _, err := db.SuspendAgency(ctx, rita, ag.ID, true, "x"); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Errorf("a reviewer suspending: %v", err)
		}
		if _, err := db.SuspendAgency(ctx, ada, ag.ID, true, "compromised"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.OfficerSession(ctx, sess); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Errorf("a session of a suspended agency: %v", err)
		}
		if _, _, err := db.AuthenticateOfficer(ctx, o.Email, "correct horse battery", "", steps); err != store.ErrOfficerLogin {
			t.Errorf("sign-in of a suspended agency's officer: %v", err)
		}
		if to, _ := db.AgencyRecipients(ctx, db.Reader(), kase.ID); len(to) != 0 {
			t.Errorf("a suspended agency is mailed: %v", to)
		}
		if _, err := db.SuspendAgency(ctx, ada, ag.ID, false, "secured"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.AuthenticateOfficer(ctx, o.Email, "correct horse battery", "", steps); err != nil {
			t.Errorf("sign-in after reinstatement: %v", err)
		}

		// Re-verification.
		db.Now = func() time.Time { return time.Now().UTC().Add(91 * 24 * time.Hour) }
		if o, _ = db.Officer(ctx, o.ID); !store.NeedsReverify(o, 90*24*time.Hour, db.Now()) {
			t.Fatal("not due after 91 days")
		}
		rt, err := db.ReverifyToken(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReverifyOfficer(ctx, token); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("the registration token as a re-verification: %v", err)
		}
		if o, err = db.ReverifyOfficer(ctx, rt); err != nil || store.NeedsReverify(o, 90*24*time.Hour, db.Now()) {
			t.Fatalf("re-verified: %v", err)
		}
	})
}
