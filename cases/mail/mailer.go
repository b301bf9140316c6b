package mail

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"

	"envelope/cases/store"
)

// Mailer is what the parts that cause mail hold: the templates and the
// portal's address for links. A nil *Mailer queues nothing.
type Mailer struct {
	DB        *store.DB
	Templates *Templates
	BaseURL   string // the portal as its users reach it, e.g. https://envelope.example.org
	Org       string // the organisation's name in mail; "": its profile's legal name
}

// Link is the portal address of path.
func (m *Mailer) Link(path string) string {
	return strings.TrimRight(m.BaseURL, "/") + path
}

// Queue renders template name on d and queues it to to in tx.
func (m *Mailer) Queue(ctx context.Context, tx *sqlx.Tx, to, name, kind string, caseID *int64, d Data, att ...Attachment) (*Message, error) {
	if d.Org == "" {
		d.Org = m.Org
	}
	if d.Org == "" {
		// Read at each message, so a profile set after start is used.
		if org, ok, err := m.DB.Org(ctx); err == nil && ok {
			d.Org = org.LegalName
		}
	}
	subject, body, err := m.Templates.Render(name, d)
	if err != nil {
		return nil, err
	}
	msg := &Message{To: to, Subject: subject, Body: body, Kind: kind, CaseID: caseID, Attachments: att}
	return msg, Enqueue(ctx, m.DB, tx, msg)
}

// Send queues one message in a transaction of its own: for mail that is
// not part of a stored change, such as the agency portal's verification
// links (kind "agency"). It is the agency portal's Mailer.
func (m *Mailer) Send(ctx context.Context, to, subject, body string) error {
	return m.DB.Tx(ctx, func(tx *sqlx.Tx) error {
		return Enqueue(ctx, m.DB, tx, &Message{To: to, Subject: subject, Body: body, Kind: "agency"})
	})
}
