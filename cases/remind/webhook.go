package remind

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// Webhook posts events to one URL, signed so the receiver can tell them
// from forgeries: X-Envelope-Signature is "sha256=" and the hex HMAC-SHA256,
// under the shared secret, of the X-Envelope-Timestamp value, a ".", and the
// body (a receiver refuses old timestamps against replays). A failed
// delivery is retried with a growing pause; every delivery and its attempts
// are recorded in webhook_deliveries. PagerDuty, Opsgenie and Slack accept
// such a webhook (through their generic webhook integrations).
type Webhook struct {
	URL      string
	Secret   []byte
	Client   *http.Client  // nil: 10-second timeout
	Attempts int           // 0: 4
	Backoff  time.Duration // the first pause; doubles each retry (0: 1s)
}

// Sign returns the signature header value of body sent at timestamp ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Event is what a webhook posts.
type Event struct {
	Event string    `json:"event"` // case.emergency, deadline.at_risk, case.produced
	At    time.Time `json:"at"`
	Case  string    `json:"case,omitempty"`
	Data  any       `json:"data,omitempty"`
}

// Deliver records and sends one event, retrying until it is accepted (2xx)
// or the attempts are used up; the record says which.
func (w *Webhook) Deliver(ctx context.Context, db *store.DB, caseID int64, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	var id int64
	var cid any
	if caseID > 0 {
		cid = caseID
	}
	if err := db.Writer().GetContext(ctx, &id, db.Writer().Rebind(`INSERT INTO webhook_deliveries (event, case_id, url, payload, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`), ev.Event, cid, w.URL, string(body), db.Now()); err != nil {
		return fmt.Errorf("record webhook delivery: %w", err)
	}
	attempts, pause := w.Attempts, w.Backoff
	if attempts <= 0 {
		attempts = 4
	}
	if pause <= 0 {
		pause = time.Second
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	var last error
	for n := 1; n <= attempts; n++ {
		code, err := w.post(ctx, client, id, ev.Event, body)
		last = err
		var delivered any
		if err == nil {
			delivered = db.Now()
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if _, uerr := db.Writer().ExecContext(ctx, db.Writer().Rebind(`UPDATE webhook_deliveries SET attempts = ?, status_code = ?, last_error = ?, delivered_at = ? WHERE id = ?`),
			n, code, msg, delivered, id); uerr != nil {
			return uerr
		}
		if err == nil {
			return nil
		}
		if n < attempts {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
			pause *= 2
		}
	}
	return fmt.Errorf("webhook %s to %s failed after %d attempts: %w", ev.Event, w.URL, attempts, last)
}

func (w *Webhook) post(ctx context.Context, client *http.Client, id int64, event string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "envelope-webhook")
	req.Header.Set("X-Envelope-Event", event)
	req.Header.Set("X-Envelope-Delivery", strconv.FormatInt(id, 10))
	req.Header.Set("X-Envelope-Timestamp", ts)
	req.Header.Set("X-Envelope-Signature", Sign(w.Secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

func (r *Reminder) send(ctx context.Context, event string, caseID int64, a *Alert) {
	if r.Webhook == nil {
		return
	}
	if err := r.Webhook.Deliver(ctx, r.DB, caseID, Event{Event: event, At: r.DB.Now(), Case: a.Number, Data: a}); err != nil {
		r.log().Error("webhook", "event", event, "case", a.Number, "err", err)
	}
}

// settingCursor is the settings row holding the last audit event the
// outbox forwarded.
const settingCursor = "webhook_cursor"

// Outbox forwards the audit events a team pages on, in order, from where
// it stopped: a new emergency (an emergency logged, or an EU production
// order stating an emergency) and a produced package. The first run starts
// from the log's head, so history is not replayed.
func (r *Reminder) Outbox(ctx context.Context) error {
	if r.Webhook == nil {
		return nil
	}
	db := r.DB
	var cur string
	err := db.Reader().GetContext(ctx, &cur, db.Reader().Rebind("SELECT value FROM settings WHERE key = ?"), settingCursor)
	if errors.Is(err, sql.ErrNoRows) {
		head, _, err := db.AuditHead(ctx)
		if err != nil {
			return err
		}
		_, err = db.Writer().ExecContext(ctx, db.Writer().Rebind("INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)"),
			settingCursor, strconv.FormatInt(head, 10), Actor, db.Now())
		return err
	} else if err != nil {
		return err
	}
	from, _ := strconv.ParseInt(cur, 10, 64)
	var evs []struct {
		Seq      int64          `db:"seq"`
		At       time.Time      `db:"at"`
		Action   string         `db:"action"`
		EntityID string         `db:"entity_id"`
		After    sql.NullString `db:"after_json"`
	}
	if err := db.Reader().SelectContext(ctx, &evs, db.Reader().Rebind(`SELECT seq, at, action, entity_id, after_json FROM audit_events
		WHERE seq > ? AND action IN ('case.create', 'case.export') ORDER BY seq LIMIT 500`), from); err != nil {
		return err
	}
	for _, e := range evs {
		caseID, _ := strconv.ParseInt(e.EntityID, 10, 64)
		// Only what a page needs leaves envelope: never targets, names or
		// records, since the receiver is a third-party service.
		event, data := "", map[string]any{}
		switch e.Action {
		case "case.create":
			var req cases.Request
			if json.Unmarshal([]byte(e.After.String), &req) == nil &&
				(req.Process.Type == cases.Emergency || (req.Process.Type == cases.EUProductionOrder && req.Emergency != nil && req.Emergency.ImminentHarm)) {
				event = "case.emergency"
				data["process_type"], data["country"], data["due_at"] = req.Process.Type, req.Agency.Country, req.DueAt
			}
		case "case.export":
			event = "case.produced"
		}
		if event != "" {
			number := ""
			_ = db.Reader().GetContext(ctx, &number, db.Reader().Rebind("SELECT number FROM cases WHERE id = ?"), caseID)
			if err := r.Webhook.Deliver(ctx, db, caseID, Event{Event: event, At: e.At.UTC(), Case: number, Data: data}); err != nil {
				r.log().Error("webhook", "event", event, "case", number, "err", err)
			}
		}
		if _, err := db.Writer().ExecContext(ctx, db.Writer().Rebind("UPDATE settings SET value = ?, updated_at = ? WHERE key = ?"),
			strconv.FormatInt(e.Seq, 10), db.Now(), settingCursor); err != nil {
			return err
		}
	}
	return nil
}
