package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases/store"
)

// Sender delivers the queue. Each due message is claimed (its next attempt
// moved past the lease) before it is sent, so two servers on one database
// do not both send it; a send that fails is retried with a doubling
// backoff, capped, and the message is marked failed only after
// MaxAttempts, which by default spans days of outage.
type Sender struct {
	DB   *store.DB
	SMTP *SMTP  // nil: print each message to Out instead of sending it
	From string // the From address
	Out  io.Writer
	// Backoff is the first retry's delay, doubling up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	MaxAttempts         int
	Logger              *slog.Logger
}

// Defaults for a Sender's zero fields.
const (
	DefaultBackoff     = 15 * time.Second
	DefaultMaxBackoff  = 15 * time.Minute
	DefaultMaxAttempts = 500 // at 15 min, five days of outage
	lease              = 5 * time.Minute
)

// Check says what is wrong with the sender's settings.
func (s *Sender) Check() error {
	if s.SMTP == nil {
		return nil
	}
	a, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("--mail-from %q is not an e-mail address (needed with --smtp)", s.From)
	}
	s.From = a.String()
	return nil
}

func (s *Sender) backoff(attempts int) time.Duration {
	b, max := s.Backoff, s.MaxBackoff
	if b <= 0 {
		b = DefaultBackoff
	}
	if max <= 0 {
		max = DefaultMaxBackoff
	}
	for i := 1; i < attempts && b < max; i++ {
		b *= 2
	}
	return min(b, max)
}

// Flush tries every message due now once and says how many went out and
// how many failed this time.
func (s *Sender) Flush(ctx context.Context) (sent, failed int, err error) {
	var ids []int64
	if err := s.DB.Reader().SelectContext(ctx, &ids, s.DB.Reader().Rebind(`SELECT id FROM mail_queue WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 100`),
		StatusQueued, s.DB.Now().UTC()); err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return sent, failed, ctx.Err()
		}
		ok, err := s.claim(ctx, id)
		if err != nil {
			return sent, failed, err
		}
		if !ok {
			continue // another sender has it
		}
		m, err := Get(ctx, s.DB, id)
		if err != nil {
			return sent, failed, err
		}
		if serr := s.deliver(m); serr != nil {
			failed++
			if err := s.recordFailure(ctx, m, serr); err != nil {
				return sent, failed, err
			}
			continue
		}
		sent++
		if err := s.recordSent(ctx, m); err != nil {
			return sent, failed, err
		}
	}
	return sent, failed, nil
}

func (s *Sender) claim(ctx context.Context, id int64) (bool, error) {
	var ok bool
	err := s.DB.Tx(ctx, func(tx *sqlx.Tx) error {
		now := s.DB.Now().UTC()
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE mail_queue SET next_attempt_at = ? WHERE id = ? AND status = ? AND next_attempt_at <= ?`),
			now.Add(lease), id, StatusQueued, now)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, err
}

func (s *Sender) transport() string {
	if s.SMTP == nil {
		return "log"
	}
	return "smtp"
}

func (s *Sender) deliver(m *Message) error {
	if s.SMTP != nil {
		from := s.From
		if a, err := mail.ParseAddress(from); err == nil {
			from = a.Address
		}
		return s.SMTP.Send(from, m)
	}
	// No mail server: print what would be sent, links included, so a demo
	// shows them and nothing is silently dropped.
	out := s.Out
	if out == nil {
		return errors.New("no --smtp and nowhere to print")
	}
	fmt.Fprintf(out, "envelope: mail (no --smtp, not sent) #%d\n  To: %s\n  Subject: %s\n", m.ID, m.To, m.Subject)
	for _, a := range m.Attachments {
		fmt.Fprintf(out, "  Attachment: %s (%s, %d bytes)\n", a.Filename, a.ContentType, len(a.Content))
	}
	fmt.Fprintf(out, "\n%s\n-- end of mail #%d\n", m.Body, m.ID)
	return nil
}

func (s *Sender) recordSent(ctx context.Context, m *Message) error {
	return s.DB.Tx(ctx, func(tx *sqlx.Tx) error {
		now := s.DB.Now().UTC()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE mail_queue SET status = ?, attempts = attempts + 1, sent_at = ?, transport = ?, last_error = '' WHERE id = ?`),
			StatusSent, now, s.transport(), m.ID); err != nil {
			return err
		}
		// A sent message's attachments (a copy of the process) are not
		// kept: the case keeps its documents under its own retention, and
		// a second copy here would outlive a purge. The audit log keeps
		// their names.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM mail_attachments WHERE mail_id = ?`), m.ID); err != nil {
			return err
		}
		return s.DB.Audit(ctx, tx, Actor, "mail.sent", "mail", strconv.FormatInt(m.ID, 10), nil,
			map[string]any{"to": m.To, "kind": m.Kind, "transport": s.transport(), "attempt": m.Attempts + 1})
	})
}

func (s *Sender) recordFailure(ctx context.Context, m *Message, cause error) error {
	attempts := m.Attempts + 1
	max := s.MaxAttempts
	if max <= 0 {
		max = DefaultMaxAttempts
	}
	status, next := StatusQueued, s.DB.Now().UTC().Add(s.backoff(attempts))
	if attempts >= max {
		status = StatusFailed
	}
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	s.log().Warn("mail not sent", "id", m.ID, "attempt", attempts, "status", status, "retry_at", next, "err", msg)
	return s.DB.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE mail_queue SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`),
			status, attempts, next, msg, m.ID); err != nil {
			return err
		}
		return s.DB.Audit(ctx, tx, Actor, "mail.fail", "mail", strconv.FormatInt(m.ID, 10), nil,
			map[string]any{"to": m.To, "kind": m.Kind, "attempt": attempts, "status": status, "error": msg, "retry_at": next})
	})
}

// Run flushes the queue every interval until ctx ends.
func (s *Sender) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, _, err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("mail sender", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Sender) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
