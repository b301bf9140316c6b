package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"envelope/cases/mail"
	"envelope/cases/store"
)

func init() {
	register(&command{name: "mail list", args: "[--db DSN] [--status queued|sent|failed] [--limit N]",
		summary: "show the outgoing mail queue (recipients, subjects, status, attempts, last error; not bodies)", run: mailList})
	register(&command{name: "mail retry", args: "[--db DSN] ID...",
		summary: "put failed messages back in the queue, to be sent by serve", run: mailRetry})
}

func mailRetry(ctx context.Context, a *app, args []string) error {
	fs := a.flags("mail retry")
	dsn := a.dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{}
	}
	if fs.NArg() == 0 {
		return usageError{"mail retry: name the failed messages by id (envelope mail list --status failed)"}
	}
	var ids []int64
	for _, s := range fs.Args() {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return usageError{fmt.Sprintf("mail retry: %q is not a message id", s)}
		}
		ids = append(ids, id)
	}
	db, err := a.openDB(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, id := range ids {
		if err := mail.Requeue(ctx, db, a.actor(), id); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "mail %d queued again\n", id)
	}
	return nil
}

// mailSettings are serve's flags for outgoing mail.
type mailSettings struct {
	smtp, from, templates, baseURL string
	every                          time.Duration
}

func mailFlags(a *app, fs *flag.FlagSet) *mailSettings {
	m := &mailSettings{}
	fs.StringVar(&m.smtp, "smtp", a.getenv("ENVELOPE_SMTP"), "send mail through smtp://[user:pass@]host[:port] (STARTTLS when offered; env ENVELOPE_SMTP); empty: mail is queued and printed, not sent")
	fs.StringVar(&m.from, "mail-from", a.getenv("ENVELOPE_MAIL_FROM"), "the From address of outgoing mail (env ENVELOPE_MAIL_FROM; required with --smtp)")
	fs.StringVar(&m.templates, "mail-templates", "", "a directory of mail templates (NAME.tmpl) overriding the embedded ones")
	fs.StringVar(&m.baseURL, "public-url", a.getenv("ENVELOPE_PUBLIC_URL"), "the portal's address as its users reach it, for links in mail (env ENVELOPE_PUBLIC_URL; default http://ADDR)")
	fs.DurationVar(&m.every, "mail-every", 10*time.Second, "look for mail to send this often")
	return m
}

// start checks the settings and runs the sender in the background; it
// returns the Mailer the parts that cause mail queue through.
func (m *mailSettings) start(ctx context.Context, a *app, db *store.DB, logger *slog.Logger, addr string) (*mail.Mailer, func(), error) {
	t, err := mail.LoadTemplates(m.templates)
	if err != nil {
		return nil, nil, err
	}
	snd := &mail.Sender{DB: db, From: m.from, Out: a.stdout, Logger: logger}
	if m.smtp != "" {
		if snd.SMTP, err = mail.ParseSMTP(m.smtp); err != nil {
			return nil, nil, err
		}
	}
	if err := snd.Check(); err != nil {
		return nil, nil, err
	}
	base := m.baseURL
	if base == "" {
		base = "http://" + addr
	}
	if snd.SMTP != nil {
		logger.Info("mail", "smtp", snd.SMTP.String(), "from", snd.From)
	} else {
		logger.Info("mail: no --smtp: mail is queued and printed here, not sent")
	}
	mailer := &mail.Mailer{DB: db, Templates: t, BaseURL: base}
	every := m.every
	if every <= 0 {
		every = 10 * time.Second
	}
	return mailer, background(ctx, func(ctx context.Context) { snd.Run(ctx, every) }), nil
}

func mailList(ctx context.Context, a *app, args []string) error {
	fs := a.flags("mail list")
	dsn := a.dbFlag(fs)
	status := fs.String("status", "", "only messages of this status (queued, sent, failed)")
	limit := fs.Int("limit", 50, "at most this many, newest first")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	switch *status {
	case "", mail.StatusQueued, mail.StatusSent, mail.StatusFailed:
	default:
		return usageError{fmt.Sprintf("--status: want queued, sent or failed, not %q", *status)}
	}
	db, err := a.openDB(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ms, err := mail.List(ctx, db, *status, *limit)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATUS\tATTEMPTS\tTO\tSUBJECT\tQUEUED\tSENT/NEXT TRY\tLAST ERROR")
	for _, m := range ms {
		when := m.NextAttemptAt.Format(time.RFC3339)
		if m.SentAt != nil {
			when = m.SentAt.Format(time.RFC3339) + " (" + m.Transport + ")"
		}
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, m.Attempts, m.To, m.Subject,
			m.CreatedAt.Format(time.RFC3339), when, strings.ReplaceAll(m.LastError, "\n", " "))
	}
	return w.Flush()
}
