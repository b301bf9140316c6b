package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"envelope/cases/mail"
	"envelope/cases/remind"
	"envelope/cases/store"
)

// remindSettings are serve's flags for deadline alerts and webhooks.
type remindSettings struct {
	every   time.Duration
	config  remind.Config
	webhook string
	mailer  *mail.Mailer // set by serve: alerts e-mail the assignee, escalations the supervisors
}

func remindFlags(a *app, fs *flag.FlagSet) *remindSettings {
	r := &remindSettings{config: remind.DefaultConfig}
	fs.DurationVar(&r.every, "remind-every", time.Minute, "look for deadlines at risk this often (0: never)")
	fs.Float64Var(&r.config.Fraction, "risk-fraction", r.config.Fraction, "a case without a decision is at risk once this share of its time is gone")
	fs.DurationVar(&r.config.UrgentLead, "risk-urgent", r.config.UrgentLead, "an unanswered emergency is at risk this long before its deadline")
	fs.DurationVar(&r.config.EscalateAfter, "escalate-after", r.config.EscalateAfter, "an alert on an untouched case escalates to the supervisors after this long")
	fs.StringVar(&r.webhook, "webhook", a.getenv("ENVELOPE_WEBHOOK_URL"), "post signed events (new emergency, deadline at risk, produced) to this URL (env ENVELOPE_WEBHOOK_URL; the HMAC secret from ENVELOPE_WEBHOOK_SECRET)")
	return r
}

// start checks the settings and runs the reminder in the background; the
// returned function stops it.
func (r *remindSettings) start(ctx context.Context, a *app, db *store.DB, logger *slog.Logger) (func(), error) {
	if r.every <= 0 {
		return func() {}, nil
	}
	if msg := r.config.Check(); msg != "" {
		return nil, fmt.Errorf("reminders: %s", msg)
	}
	rm := &remind.Reminder{DB: db, Config: r.config, Logger: logger, Mail: r.mailer}
	if r.webhook != "" {
		secret := a.getenv("ENVELOPE_WEBHOOK_SECRET")
		if len(secret) < 16 {
			return nil, fmt.Errorf("--webhook needs ENVELOPE_WEBHOOK_SECRET, at least 16 characters, to sign what it sends")
		}
		rm.Webhook = &remind.Webhook{URL: r.webhook, Secret: []byte(secret)}
	}
	return background(ctx, func(ctx context.Context) { rm.Run(ctx, r.every) }), nil
}
