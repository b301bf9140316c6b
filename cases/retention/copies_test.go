package retention_test

import (
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"envelope/cases/mail"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A closed case's purge also deletes the case's other documents
// (amendments, superseded process documents) and the copies of its files
// kept outside case_documents: the PDFs attached to its agency thread and
// to mail sent about it (a user notice carries the process). Mail not yet sent keeps
// its attachment: nothing is dropped unsent.
func TestClosedCasePurgeDeletesCopies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.subpoena("+14155550100")
		pdf := []byte("%PDF-1.4 the process")
		err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			for _, to := range []string{"sent@example.org", "queued@example.org"} {
				m := &mail.Message{To: to, Subject: "Notice", Body: "b", Kind: "user_notice", CaseID: &c.ID,
					Attachments: []mail.Attachment{{Filename: "process.pdf", ContentType: "application/pdf", Content: pdf}}}
				if err := mail.Enqueue(ctx, db, tx, m); err != nil {
					return err
				}
				if to == "sent@example.org" {
					if _, err := tx.Exec(tx.Rebind("UPDATE mail_queue SET status = 'sent', sent_at = ? WHERE id = ?"), f.now(), m.ID); err != nil {
						return err
					}
				}
			}
			var msg int64
			if err := tx.Get(&msg, tx.Rebind(`INSERT INTO case_messages (case_id, side, author, kind, body, created_at)
				VALUES (?, 'agency', 'agency:kim@fbi.gov', 'message', 'attached', ?) RETURNING id`), c.ID, f.now()); err != nil {
				return err
			}
			if _, err := tx.Exec(tx.Rebind(`INSERT INTO case_message_files (message_id, case_id, filename, size, sha256, content)
				VALUES (?, ?, 'answer.pdf', ?, 'x', ?)`), msg, c.ID, len(pdf), pdf); err != nil {
				return err
			}
			// An amendment and a superseded process document.
			for _, kind := range []string{"amendment", "process"} {
				if _, err := tx.Exec(tx.Rebind(`INSERT INTO case_attachments (case_id, kind, filename, size, sha256, content, uploaded_by, uploaded_at)
					VALUES (?, ?, 'x.pdf', ?, 'x', ?, 'ivy@example.org', ?)`), c.ID, kind, len(pdf), pdf, f.now()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		f.close(c)
		f.set(T0.Add(100 * day))
		rep := f.purge(retention.Settings{Closed: 90 * day}, true)
		if got := purgedOf(rep, c); got == nil || got.ThreadFiles != 1 || got.MailAttachments != 1 || got.Attachments != 2 {
			t.Fatalf("dry run: %+v", got)
		}
		rep = f.purge(retention.Settings{Closed: 90 * day}, false)
		if got := purgedOf(rep, c); got == nil || got.ThreadFiles != 1 || got.MailAttachments != 1 || got.Attachments != 2 {
			t.Fatalf("purged %+v", got)
		}
		if n := f.count("SELECT COUNT(*) FROM case_attachments"); n != 0 {
			t.Errorf("%d attachments (amendments, superseded process documents) left", n)
		}
		if n := f.count("SELECT COUNT(*) FROM case_message_files"); n != 0 {
			t.Errorf("%d thread files left", n)
		}
		if n := f.count("SELECT COUNT(*) FROM mail_attachments a JOIN mail_queue m ON m.id = a.mail_id WHERE m.status = 'queued'"); n != 1 {
			t.Errorf("the unsent mail's attachment: %d", n)
		}
		if n := f.count("SELECT COUNT(*) FROM case_messages"); n != 1 {
			t.Errorf("the message itself: %d", n)
		}
		ev := f.events(c, "retention.purge_case")
		if len(ev) != 1 || !strings.Contains(string(ev[0].After), `"thread_files_deleted":1`) || !strings.Contains(string(ev[0].After), `"mail_attachments_deleted":1`) {
			t.Errorf("audit %v", ev)
		}
	})
}
