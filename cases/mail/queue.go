// Package mail is envelope's outbound mail: a queue in the database
// (migration 00014), filled in the same transaction as the change that
// causes a message, and a sender (sender.go) that delivers it over SMTP
// (smtp.go) with retries and backoff, so a mail-server outage loses
// nothing. Without an SMTP server the sender prints each message where the
// operator sees it (the demo's links included) instead of dropping it.
//
// Messages are rendered from text/template files (templates.go). Bodies
// never reach the audit log: a body may name a case, and the audit log is
// read more widely than the mail is.
package mail

import (
	"context"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
)

// Statuses of a queued message.
const (
	StatusQueued = "queued"
	StatusSent   = "sent"
	StatusFailed = "failed"
)

// Actor is who records sends and failures in the audit log.
const Actor = "system:mail"

// Attachment is a file sent with a message.
type Attachment struct {
	Filename     string
	ContentType  string
	Content      []byte
	CaseDocument string // the case document it was copied from, if any
}

// Message is one outgoing message.
type Message struct {
	ID            int64      `db:"id" json:"id"`
	To            string     `db:"to_addr" json:"to"`
	Subject       string     `db:"subject" json:"subject"`
	Body          string     `db:"body" json:"-"`
	Kind          string     `db:"kind" json:"kind"`
	CaseID        *int64     `db:"case_id" json:"case_id,omitempty"`
	Status        string     `db:"status" json:"status"`
	Attempts      int        `db:"attempts" json:"attempts"`
	NextAttemptAt time.Time  `db:"next_attempt_at" json:"next_attempt_at"`
	LastError     string     `db:"last_error" json:"last_error,omitempty"`
	Transport     string     `db:"transport" json:"transport,omitempty"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	SentAt        *time.Time `db:"sent_at" json:"sent_at,omitempty"`

	Attachments []Attachment `db:"-" json:"-"`
}

// checkAddress says what is wrong with a recipient list, or "".
func checkAddress(to string) string {
	if strings.TrimSpace(to) == "" {
		return "is required"
	}
	if strings.ContainsAny(to, "\r\n") {
		return "must be one line"
	}
	if _, err := mail.ParseAddressList(to); err != nil {
		return fmt.Sprintf("is not an e-mail address: %v", err)
	}
	return ""
}

// Enqueue queues m in tx, the transaction of the change that causes it, so
// the message exists exactly when the change does, and records it in the
// audit log (recipients, subject, kind and attachment names; not the body).
func Enqueue(ctx context.Context, db *store.DB, tx *sqlx.Tx, m *Message) error {
	if bad := checkAddress(m.To); bad != "" {
		return cases.Invalid(map[string]string{"to": bad})
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return cases.Invalid(map[string]string{"subject": "must be one line"})
	}
	now := db.Now().UTC()
	m.Status, m.Attempts, m.NextAttemptAt, m.CreatedAt = StatusQueued, 0, now, now
	if err := tx.GetContext(ctx, &m.ID, tx.Rebind(`INSERT INTO mail_queue (to_addr, subject, body, kind, case_id, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), m.To, m.Subject, m.Body, m.Kind, m.CaseID, m.Status, now, now); err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	var names []string
	for _, a := range m.Attachments {
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO mail_attachments (mail_id, filename, content_type, content, case_document) VALUES (?, ?, ?, ?, ?)`),
			m.ID, a.Filename, a.ContentType, a.Content, a.CaseDocument); err != nil {
			return fmt.Errorf("queue mail attachment: %w", err)
		}
		names = append(names, a.Filename)
	}
	after := map[string]any{"to": m.To, "subject": m.Subject, "kind": m.Kind, "attachments": names}
	if m.CaseID != nil {
		after["case_id"] = *m.CaseID
	}
	return db.Audit(ctx, tx, Actor, "mail.enqueue", "mail", strconv.FormatInt(m.ID, 10), nil, after)
}

const selectMessage = `SELECT id, to_addr, subject, body, kind, case_id, status, attempts, next_attempt_at, last_error, transport, created_at, sent_at FROM mail_queue`

// List returns the queue, newest first, at most limit messages; status ""
// lists every status.
func List(ctx context.Context, db *store.DB, status string, limit int) ([]*Message, error) {
	q, args := selectMessage, []any{}
	if status != "" {
		q += " WHERE status = ?"
		args = append(args, status)
	}
	q += " ORDER BY id DESC LIMIT ?"
	var out []*Message
	if err := db.Reader().SelectContext(ctx, &out, db.Reader().Rebind(q), append(args, limit)...); err != nil {
		return nil, err
	}
	for _, m := range out {
		m.utc()
	}
	return out, nil
}

// Get returns one message with its attachments.
func Get(ctx context.Context, db *store.DB, id int64) (*Message, error) {
	var m Message
	if err := db.Reader().GetContext(ctx, &m, db.Reader().Rebind(selectMessage+" WHERE id = ?"), id); err != nil {
		return nil, err
	}
	m.utc()
	if err := db.Reader().SelectContext(ctx, &m.Attachments, db.Reader().Rebind(`SELECT filename AS "filename", content_type AS "contenttype", content AS "content", case_document AS "casedocument"
		FROM mail_attachments WHERE mail_id = ? ORDER BY id`), id); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Message) utc() {
	m.NextAttemptAt, m.CreatedAt = m.NextAttemptAt.UTC(), m.CreatedAt.UTC()
	if m.SentAt != nil {
		t := m.SentAt.UTC()
		m.SentAt = &t
	}
}

// Requeue puts a failed message back in the queue, due now, with its
// attempts counted afresh: after an outage longer than the attempts
// allowed, or a fixed setting, the operator sends it again. Only a failed
// message can be requeued (a sent one is not sent twice); audited.
func Requeue(ctx context.Context, db *store.DB, actor string, id int64) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE mail_queue SET status = ?, attempts = 0, next_attempt_at = ? WHERE id = ? AND status = ?`),
			StatusQueued, db.Now().UTC(), id, StatusFailed)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return cases.Errorf(cases.ECONFLICT, "mail %d is not a failed message", id)
		}
		return db.Audit(ctx, tx, actor, "mail.requeue", "mail", strconv.FormatInt(id, 10), map[string]any{"status": StatusFailed}, map[string]any{"status": StatusQueued})
	})
}
