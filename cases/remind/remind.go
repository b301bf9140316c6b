// Package remind watches deadlines: it raises an alert when a case's
// deadline is at risk (half its time gone with no decision, or two hours
// left on an emergency, both configurable), escalates it to the supervisors
// when the case is still untouched, records every alert in the audit log,
// and sends signed webhooks (webhook.go) for new emergencies, deadlines at
// risk and productions. With a Mailer, a raised alert e-mails the case's
// assignee (or, on a case nobody is assigned to, every supervisor, who
// allocates the work) and an escalation e-mails each supervisor, queued
// (cases/mail) in the transaction that records the alert, naming only the
// case number, a link and the deadline in each recipient's time zone.
package remind

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/jobs"
	"envelope/cases/mail"
	"envelope/cases/store"
)

// Config says when a deadline is at risk and when an alert escalates.
type Config struct {
	// Fraction: a case still without a decision is at risk once this share
	// of the time from receipt to its deadline has passed (0.5).
	Fraction float64
	// UrgentLead: an urgent case (an emergency, an EU emergency production
	// order) not yet answered is at risk this long before its deadline.
	UrgentLead time.Duration
	// EscalateAfter: an alert on a case nobody touched since escalates to
	// the supervisors after this long.
	EscalateAfter time.Duration
}

// DefaultConfig is half the time gone, two hours left on an emergency, and
// escalation after an hour.
var DefaultConfig = Config{Fraction: 0.5, UrgentLead: 2 * time.Hour, EscalateAfter: time.Hour}

// Check says what is wrong with c, or "" if nothing.
func (c Config) Check() string {
	switch {
	case c.Fraction <= 0 || c.Fraction >= 1:
		return fmt.Sprintf("the at-risk fraction must be between 0 and 1, not %v", c.Fraction)
	case c.UrgentLead <= 0:
		return "the urgent lead time must be positive"
	case c.EscalateAfter <= 0:
		return "the escalation delay must be positive"
	}
	return ""
}

// Alert kinds.
const (
	KindAtRisk = "deadline_at_risk"
)

// Actor is who raises alerts in the audit log.
const Actor = "system:remind"

// Alert is one raised alert.
type Alert struct {
	ID          int64      `json:"id" db:"id"`
	CaseID      int64      `json:"case_id" db:"case_id"`
	Number      string     `json:"number" db:"number"`
	Kind        string     `json:"kind" db:"kind"`
	DueAt       time.Time  `json:"due_at" db:"due_at"`
	Reason      string     `json:"reason" db:"reason"`
	RaisedAt    time.Time  `json:"raised_at" db:"raised_at"`
	EscalatedAt *time.Time `json:"escalated_at" db:"escalated_at"`
	EscalatedTo string     `json:"escalated_to" db:"escalated_to"`
}

// Reminder raises and escalates alerts on one database.
type Reminder struct {
	DB      *store.DB
	Config  Config
	Webhook *Webhook     // nil: no webhooks
	Mail    *mail.Mailer // nil: no e-mail
	Logger  *slog.Logger
}

type openCase struct {
	ID         int64     `db:"id"`
	Number     string    `db:"number"`
	Process    string    `db:"process_type"`
	Status     string    `db:"status"`
	ReceivedAt time.Time `db:"received_at"`
	DueAt      time.Time `db:"due_at"`
	UpdatedAt  time.Time `db:"updated_at"`
	Request    string    `db:"request_json"`
	Assignee   string    `db:"assignee"`
}

// urgent says whether a case's deadline is counted in hours.
func (o *openCase) urgent() bool {
	if o.Process == string(cases.Emergency) {
		return true
	}
	if o.Process != string(cases.EUProductionOrder) {
		return false
	}
	var r struct{ Emergency *cases.Exigency }
	return json.Unmarshal([]byte(o.Request), &r) == nil && r.Emergency != nil && r.Emergency.ImminentHarm
}

// atRisk says whether o's deadline is at risk at now, and why.
func (c Config) atRisk(o *openCase, now time.Time) (string, bool) {
	left := o.DueAt.Sub(now)
	if o.urgent() {
		switch {
		case left <= 0:
			return fmt.Sprintf("urgent case not yet answered, %s past its deadline", words(-left)), true
		case left <= c.UrgentLead:
			return fmt.Sprintf("urgent case not yet answered, %s left before its deadline", words(left)), true
		}
		return "", false
	}
	total := o.DueAt.Sub(o.ReceivedAt)
	if o.Status == string(cases.StatusReceived) && total > 0 && float64(now.Sub(o.ReceivedAt)) >= c.Fraction*float64(total) {
		return fmt.Sprintf("%.0f%% of the time to the deadline has passed with no decision", 100*float64(now.Sub(o.ReceivedAt))/float64(total)), true
	}
	return "", false
}

// Scan raises an alert on every open case whose deadline is at risk and has
// none yet, and escalates the alerts on cases untouched since. Each raise
// and escalation is audited in the transaction that records it.
func (r *Reminder) Scan(ctx context.Context, now time.Time) (raised, escalated []*Alert, err error) {
	var open []openCase
	if err := r.DB.Reader().SelectContext(ctx, &open, `SELECT id, number, process_type, status, received_at, due_at, updated_at, request_json, assignee
		FROM cases WHERE status IN ('received', 'approved') AND due_at IS NOT NULL ORDER BY due_at, id`); err != nil {
		return nil, nil, err
	}
	for i := range open {
		o := &open[i]
		why, risk := r.Config.atRisk(o, now)
		if !risk {
			continue
		}
		a, err := r.raise(ctx, o, why)
		if err != nil {
			return raised, escalated, err
		}
		if a != nil {
			raised = append(raised, a)
			r.send(ctx, "deadline.at_risk", a.CaseID, a)
		}
	}
	escalated, err = r.escalate(ctx, now)
	return raised, escalated, err
}

func (r *Reminder) raise(ctx context.Context, o *openCase, why string) (*Alert, error) {
	var a *Alert
	err := r.DB.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := r.DB.LockCase(ctx, tx, o.ID); err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM alerts WHERE case_id = ? AND kind = ?"), o.ID, KindAtRisk); err != nil || n > 0 {
			return err
		}
		now := r.DB.Now()
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO alerts (case_id, kind, due_at, reason, raised_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			o.ID, KindAtRisk, o.DueAt.UTC(), why, now); err != nil {
			return err
		}
		a = &Alert{ID: id, CaseID: o.ID, Number: o.Number, Kind: KindAtRisk, DueAt: o.DueAt.UTC(), Reason: why, RaisedAt: now}
		if r.Mail != nil {
			tmpl, to, err := mail.TmplAlert, []recipient(nil), error(nil)
			if o.Assignee != "" {
				to, err = r.recipients(ctx, tx, "email = ?", o.Assignee)
			} else {
				tmpl = mail.TmplUnassigned
				to, err = r.recipients(ctx, tx, "role = ?", cases.RoleSupervisor)
			}
			if err != nil {
				return err
			}
			for _, rc := range to {
				if _, err := r.Mail.Queue(ctx, tx, rc.Email, tmpl, "alert", &o.ID, r.mailData(a, rc.zone())); err != nil {
					return err
				}
			}
		}
		return r.DB.Audit(ctx, tx, Actor, "alert.raise", "case", strconv.FormatInt(o.ID, 10), nil,
			map[string]any{"alert": id, "kind": KindAtRisk, "due_at": a.DueAt, "reason": why})
	})
	return a, err
}

// escalate escalates every alert raised at least EscalateAfter ago on a
// case still open and not changed since the alert: the supervisors are
// named on it, and the dashboard shows it as escalated.
func (r *Reminder) escalate(ctx context.Context, now time.Time) ([]*Alert, error) {
	var due []Alert
	if err := r.DB.Reader().SelectContext(ctx, &due, r.DB.Reader().Rebind(alertSelect+`
		WHERE a.escalated_at IS NULL AND a.raised_at <= ? AND c.status IN ('received', 'approved') AND c.updated_at <= a.raised_at`),
		now.Add(-r.Config.EscalateAfter)); err != nil {
		return nil, err
	}
	if len(due) == 0 {
		return nil, nil
	}
	sups, err := r.recipients(ctx, r.DB.Reader(), "role = ?", cases.RoleSupervisor)
	if err != nil {
		return nil, err
	}
	supervisors := make([]string, len(sups))
	for i, rc := range sups {
		supervisors[i] = rc.Email
	}
	to := strings.Join(supervisors, ", ")
	var out []*Alert
	for i := range due {
		a := &due[i]
		err := r.DB.Tx(ctx, func(tx *sqlx.Tx) error {
			at := r.DB.Now()
			res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE alerts SET escalated_at = ?, escalated_to = ? WHERE id = ? AND escalated_at IS NULL"), at, to, a.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errNoChange
			}
			a.EscalatedAt, a.EscalatedTo = &at, to
			if r.Mail != nil {
				for _, sup := range sups {
					if _, err := r.Mail.Queue(ctx, tx, sup.Email, mail.TmplEscalation, "escalation", &a.CaseID, r.mailData(a, sup.zone())); err != nil {
						return err
					}
				}
			}
			return r.DB.Audit(ctx, tx, Actor, "alert.escalate", "case", strconv.FormatInt(a.CaseID, 10), nil,
				map[string]any{"alert": a.ID, "kind": a.Kind, "supervisors": supervisors})
		})
		switch {
		case errors.Is(err, errNoChange): // another instance escalated it
		case err != nil:
			return out, err
		default:
			out = append(out, a)
		}
	}
	return out, nil
}

var errNoChange = errors.New("no change")

// mailData is all an alert's e-mail says: the case number, its deadline
// in the recipient's zone and a link; the case's content stays in the
// portal.
func (r *Reminder) mailData(a *Alert, zone *time.Location) mail.Data {
	return mail.Data{CaseNumber: a.Number, Link: r.Mail.Link("/cases/" + strconv.FormatInt(a.CaseID, 10)),
		DueAt: a.DueAt.In(zone).Format("2 January 2006 15:04 MST (-07:00)")}
}

// recipient is a staff member an alert e-mails, with the time zone the
// portal shows them times in (their own, else the organisation's).
type recipient struct {
	Email    string `db:"email"`
	TimeZone string `db:"time_zone"`
	org      *time.Location
}

func (rc recipient) zone() *time.Location {
	if loc, err := cases.LoadZone(rc.TimeZone); rc.TimeZone != "" && err == nil {
		return loc
	}
	return rc.org
}

// recipients are the enabled users matching where (one condition with
// one argument), by email.
func (r *Reminder) recipients(ctx context.Context, q sqlx.QueryerContext, where string, arg any) ([]recipient, error) {
	org, err := r.DB.OrgZone(ctx)
	if err != nil {
		return nil, err
	}
	var out []recipient
	if err := sqlx.SelectContext(ctx, q, &out, r.DB.Reader().Rebind("SELECT email, time_zone FROM users WHERE "+where+" AND NOT disabled ORDER BY email"), arg); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].org = org
	}
	return out, nil
}

// alertSelect reads alerts with their case's number.
const alertSelect = `SELECT a.id, a.case_id, c.number, a.kind, a.due_at, a.reason, a.raised_at, a.escalated_at, a.escalated_to
		FROM alerts a JOIN cases c ON c.id = a.case_id`

// Active lists the alerts on cases still open, most urgent deadline first:
// the dashboard's panel.
func Active(ctx context.Context, db *store.DB, limit int) ([]*Alert, error) {
	var out []*Alert
	err := db.Reader().SelectContext(ctx, &out, db.Reader().Rebind(alertSelect+`
		WHERE c.status IN ('received', 'approved') ORDER BY a.due_at, a.id LIMIT ?`), limit)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	for _, a := range out {
		a.DueAt, a.RaisedAt = a.DueAt.UTC(), a.RaisedAt.UTC()
	}
	return out, err
}

// Run scans every interval until ctx ends, and forwards new emergencies
// and productions to the webhook.
func (r *Reminder) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// One instance at a time (store.DB.Exclusive): two scanning at
		// once would race to raise the same alerts and send the same
		// webhooks.
		ran, err := r.DB.Exclusive(ctx, "reminders", func(ctx context.Context) error {
			if _, _, err := r.Scan(ctx, r.DB.Now()); err != nil && ctx.Err() == nil {
				r.log().Error("deadline scan", "err", err)
				return err
			}
			if err := r.Outbox(ctx); err != nil && ctx.Err() == nil {
				r.log().Error("webhook outbox", "err", err)
				return err
			}
			return nil
		})
		if ran {
			jobs.Ran("reminders", err)
		} else if err != nil && ctx.Err() == nil {
			r.log().Error("reminders", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Reminder) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// words writes a span as people say it: "2 h 05 min", "10 days 17 h";
// never as a Go duration ("257h0m0s").
func words(d time.Duration) string {
	d = d.Round(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 1:
		return fmt.Sprintf("%d days %d h", days, h)
	case days == 1:
		return fmt.Sprintf("1 day %d h", h)
	case h > 0:
		return fmt.Sprintf("%d h %02d min", h, m)
	}
	return fmt.Sprintf("%d min", m)
}
