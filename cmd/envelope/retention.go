package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/blob"
	"envelope/cases/retention"
	"envelope/cases/store"
)

func init() {
	register(&command{name: "hold place", args: "--case REF --reason TEXT [--as EMAIL]",
		summary: "put a case under a legal hold: nothing of it is purged until the hold is released", run: holdPlace})
	register(&command{name: "hold release", args: "--case REF --reason TEXT [--as EMAIL]",
		summary: "release a case's legal hold", run: holdRelease})
	register(&command{name: "hold list", args: "[--all]",
		summary: "list the active legal holds (--all: released ones too)", run: holdList})
	register(&command{name: "retention purge", args: "[--retain-pairs DURATION] [--retain-closed DURATION] [--dry-run] [--at RFC3339] [--packages DIR] [--blobs db|file:///DIR|s3://BUCKET?...]",
		summary: "delete what the retention periods let go, once (serve does it hourly); --dry-run only reports", run: retentionPurge})
}

// retainFlag is a retention period flag: "90d", "2160h" or 0 (keep for
// ever).
type retainFlag struct{ d *time.Duration }

func (f retainFlag) String() string {
	if f.d == nil {
		return "0"
	}
	return retention.FormatDuration(*f.d)
}

func (f retainFlag) Set(s string) error {
	d, err := retention.ParseDuration(s)
	if err == nil {
		*f.d = d
	}
	return err
}

// retentionFlags adds --retain-pairs and --retain-closed.
func retentionFlags(fs *flag.FlagSet) *retention.Settings {
	var s retention.Settings
	fs.Var(retainFlag{&s.Pairs}, "retain-pairs", "keep collected message pairs this long after collection once disclosed (or their case closed), e.g. 90d; 0 keeps for ever")
	fs.Var(retainFlag{&s.Closed}, "retain-closed", "keep a closed case's document, pairs, preserved records and package files this long after the close, e.g. 730d; 0 keeps for ever")
	return &s
}

func holdPlace(ctx context.Context, a *app, args []string) error {
	return a.changeHold(ctx, "hold place", args, retention.PlaceHold, "placed")
}

func holdRelease(ctx context.Context, a *app, args []string) error {
	return a.changeHold(ctx, "hold release", args, retention.ReleaseHold, "released")
}

// changeHold runs hold place or hold release. With --as it acts as that
// user, whose role must allow it; without, as the operator running the
// command (recorded as cli:LOGIN), who has the database in hand anyway.
func (a *app) changeHold(ctx context.Context, name string, args []string,
	change func(context.Context, *store.DB, *cases.User, string, string) (*retention.Hold, error), done string) error {
	fs := a.flags(name)
	db := a.dbFlag(fs)
	ref := fs.String("case", "", "the case: its number (LR-2026-000123) or ID")
	reason := fs.String("reason", "", "why (recorded with the hold and in the audit log)")
	as := fs.String("as", "", "act as this user (a reviewer, supervisor or admin); default the operator")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "case", *ref); err != nil {
		return err
	}
	if err := required(fs, "reason", *reason); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		actor := &cases.User{Email: a.actor(), Role: cases.RoleAdmin}
		if *as != "" {
			u, err := s.UserByEmail(ctx, *as)
			if err != nil {
				return err
			}
			actor = u
		}
		h, err := change(ctx, s, actor, *ref, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "case %s: legal hold %d %s\n", h.Case, h.ID, done)
		return nil
	})
}

func holdList(ctx context.Context, a *app, args []string) error {
	fs := a.flags("hold list")
	db := a.dbFlag(fs)
	all := fs.Bool("all", false, "list released holds too")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		holds, err := retention.Holds(ctx, s, *all)
		if err != nil {
			return err
		}
		for _, h := range holds {
			fmt.Fprintf(a.stdout, "%s  placed %s by %s: %s", h.Case, h.PlacedAt.Format(time.RFC3339), h.PlacedBy, flat(h.Reason))
			if h.ReleasedAt != nil {
				fmt.Fprintf(a.stdout, "  (released %s by %s: %s)", h.ReleasedAt.Format(time.RFC3339), h.ReleasedBy, flat(h.ReleaseReason))
			}
			fmt.Fprintln(a.stdout)
		}
		if len(holds) == 0 {
			fmt.Fprintln(a.stdout, "no legal holds")
		}
		return nil
	})
}

func retentionPurge(ctx context.Context, a *app, args []string) error {
	fs := a.flags("retention purge")
	db := a.dbFlag(fs)
	settings := retentionFlags(fs)
	dry := fs.Bool("dry-run", false, "only report what would be purged; change nothing")
	at := fs.String("at", "", "purge as of this time (default now)")
	pkgs, blobs := a.packagesFlag(fs), a.blobsFlag(fs)
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if !settings.Enabled() {
		fs.Usage()
		return usageError{"--retain-pairs or --retain-closed is required (both default to 0: keep for ever)"}
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		now, err := purgeTime(s, *at)
		if err != nil {
			return err
		}
		b, err := openBlobs(ctx, *blobs, s)
		if err != nil {
			return err
		}
		p := &retention.Purger{DB: s, Settings: *settings, Blobs: b, PackageDir: *pkgs, Actor: a.actor()}
		rep, err := p.Purge(ctx, now, *dry)
		if rep != nil {
			a.printPurge(rep)
		}
		return err
	})
}

// purgeTime is the time a purge command runs as of: its --at, or the
// database's now when --at is not given.
func purgeTime(s *store.DB, at string) (time.Time, error) {
	if at == "" {
		return s.Now(), nil
	}
	t, err := cases.ParseTime(at)
	if err != nil {
		return time.Time{}, usageError{"--at: " + err.Error()}
	}
	return t, nil
}

// printPurge prints one line per case purged or left alone, then a total.
func (a *app) printPurge(rep *retention.Report) {
	verb := "purged"
	if rep.DryRun {
		verb = "would purge"
	}
	for _, p := range rep.Purged {
		var what []string
		if p.Document {
			what = append(what, "document")
		}
		what = append(what, fmt.Sprintf("%d pair(s)", p.Pairs))
		if p.Kind == retention.KindCase {
			what = append(what, fmt.Sprintf("%d preserved record(s)", p.PreservedRecords), fmt.Sprintf("%d package file(s)", len(p.PackageFiles)))
		}
		fmt.Fprintf(a.stdout, "%s %s (%s, older than %s): %s\n", verb, p.Case, p.Kind, p.Retain, strings.Join(what, ", "))
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(a.stdout, "kept %s (%s): %s\n", s.Case, s.Kind, s.Reason)
	}
	if rep.DryRun {
		fmt.Fprintf(a.stdout, "dry run: would purge %d case(s); nothing was changed\n", len(rep.Purged))
	} else {
		fmt.Fprintf(a.stdout, "purged %d case(s)\n", len(rep.Purged))
	}
}

// startPurger runs the retention purge hourly, the first pass at once, and
// returns the function that stops it and waits for it: serve defers it,
// so the database is never closed under a purge.
func startPurger(ctx context.Context, s *store.DB, settings retention.Settings, blobs blob.Store, pkgs string, logger *slog.Logger) func() {
	p := &retention.Purger{DB: s, Settings: settings, Blobs: blobs, PackageDir: pkgs, Logger: logger}
	stop := background(ctx, func(ctx context.Context) { p.Run(ctx, time.Hour) })
	logger.Info("retention purge scheduled hourly", "retain_pairs", retention.FormatDuration(settings.Pairs), "retain_closed", retention.FormatDuration(settings.Closed))
	return stop
}
