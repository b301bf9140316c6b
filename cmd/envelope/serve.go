package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/exporter"
	"envelope/web"
)

func init() {
	register(&command{name: "serve", args: "[--db DSN] [--addr HOST:PORT] [--demo] [--policy FILE] [--keys DIR] [--packages DIR] [--blobs db|file:///DIR|s3://BUCKET?...] [--produce-every DURATION] [--retain-pairs DURATION] [--retain-closed DURATION] [--witness DIR] [--witness-url URL] [--witness-every DURATION] [--smtp smtp://user:pass@host:port] [--mail-from ADDRESS] [--mail-templates DIR] [--public-url URL] [--tls-cert FILE --tls-key FILE] [--trusted-proxy CIDR] [--max-conns N] [--api-rate N] [--api-burst N] [--agency-reverify DAYS] [--delivery-overdue DAYS]",
		summary: "migrate the database and run the portal and the API", run: serve})
}

// shutdownGrace is how long in-flight requests get to finish on SIGINT or
// SIGTERM. Every write is committed before its response is sent, so an
// acknowledged write is never lost; this only spares in-flight requests.
const shutdownGrace = 30 * time.Second

// background runs job in a goroutine until ctx is done or the returned
// stop is called; stop cancels the job and waits for it to return. serve
// defers stop after deferring the database's Close, so the job has
// stopped before the database closes.
func background(ctx context.Context, job func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		job(ctx)
	}()
	return func() { cancel(); <-done }
}

func serve(ctx context.Context, a *app, args []string) error {
	fs := a.flags("serve")
	db := a.dbFlag(fs)
	defAddr := a.getenv("ENVELOPE_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:8080"
	}
	addr := fs.String("addr", defAddr, "listen address (env ENVELOPE_ADDR)")
	demo := fs.Bool("demo", false, "load the demo data set into an empty database and print a demo login")
	file := fs.String("policy", "", "a policy YAML file (default: the embedded default policy)")
	keys, pkgs, blobsAt := a.keysFlag(fs), a.packagesFlag(fs), a.blobsFlag(fs)
	produceEvery := fs.Duration("produce-every", 0, "produce again, this often, every prospective order with pairs collected since its last package (audited as "+exporter.SchedulerActor+"); 0: only on demand")
	retain := retentionFlags(fs)
	witness := witnessFlags(fs)
	reminders := remindFlags(a, fs)
	mailSet := mailFlags(a, fs)
	clockFile := fs.String("clock", "", "a clock rules YAML file (default: the embedded default clock rules)")
	httpOpt := httpFlags(fs)
	agencyOpt := web.DefaultAgencySettings
	fs.Var(retainFlag{&agencyOpt.Reverify}, "agency-reverify", "agency portal: an officer confirms their email again this long after the last time, e.g. 90d; 0: never")
	fs.Var(retainFlag{&agencyOpt.DeliveryOverdue}, "delivery-overdue", "agency portal: the dashboard flags a package no officer downloaded within this, e.g. 7d")
	sso := oidcFlags(a, fs)
	tz := fs.String("tz", a.getenv("ENVELOPE_TZ"), "set the organisation's time zone (an IANA name such as Europe/Berlin; env ENVELOPE_TZ), in which dates typed without a time are read and the portal shows times; empty: keep the one set (UTC until set)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := httpOpt.check(); err != nil {
		return err
	}
	s, err := a.openDB(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	if *tz != "" {
		if err := s.SetOrgZone(ctx, a.actor(), *tz); err != nil {
			return fmt.Errorf("--tz: %s", cases.ErrorFields(err)["time_zone"])
		}
	}
	// An explicit --policy wins; otherwise the policy last activated
	// through the API, or the embedded default.
	p, err := loadPolicy(*file)
	if *file == "" && err == nil {
		p, err = web.ActivePolicy(ctx, s)
	}
	if err != nil {
		return err
	}
	// A page allocates a few hundred kilobytes that die with the request;
	// at the default GOGC the collector ran every few dozen pages and took
	// a fifth of a busy portal's CPU. Four times the live heap between
	// collections costs tens of megabytes. GOGC in the environment wins.
	if a.getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, nil))
	// The metadata store registers the approval and close hooks that open
	// and end collection windows and freeze preservations; it must exist
	// before anything is approved, the demo data included.
	md := metadata.New(s)
	defer background(ctx, func(ctx context.Context) { md.RunPurger(ctx, time.Hour) })()
	if *demo {
		// The demo produces one package, signed with this server's key.
		exp, err := exporter.New(s, md, *keys, *pkgs)
		if err != nil {
			return err
		}
		if err := loadDemo(ctx, s, p, exp, a.stdout); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	srv := web.New(s, p, logger)
	if err := sso.enable(ctx, srv); err != nil {
		return err
	}
	// Instances sharing one database decide and compute deadlines under the
	// policy and the clock rules activated last on any of them.
	defer background(ctx, func(ctx context.Context) { followRules(ctx, s, srv, logger, followEvery) })()
	{
		// --clock wins; else the rules activated last through the API
		// (PUT /api/v1/clock), which survive restarts; else the default.
		c, err := loadClocks(*clockFile)
		if err == nil && *clockFile == "" {
			c, err = web.ActiveClocks(ctx, s)
		}
		if err != nil {
			return err
		}
		srv.SetClocks(c)
	}
	blobs, err := openBlobs(ctx, *blobsAt, s)
	if err != nil {
		return err
	}
	srv.SetBlobStore(blobs)
	if err := srv.SetExportDirs(*keys, *pkgs); err != nil {
		return err
	}
	if *produceEvery > 0 {
		exp, err := exporter.NewIn(s, md, *keys, *pkgs, blobs)
		if err != nil {
			return err
		}
		exp.Builder.Logger = logger
		defer background(ctx, func(ctx context.Context) { exp.RunProducer(ctx, *produceEvery) })()
		logger.Info("scheduled production of prospective orders", "every", produceEvery.String())
	}
	mailer, stopMail, err := mailSet.start(ctx, a, s, logger, *addr)
	if err != nil {
		return err
	}
	defer stopMail()
	srv.Mail, reminders.mailer = mailer, mailer
	srv.Agency = agencyOpt
	// Packages a CLI export or the scheduled producer made are announced
	// to their agency within a minute; the portal's at once.
	defer background(ctx, func(ctx context.Context) { srv.RunAnnouncer(ctx, time.Minute) })()
	stopReminders, err := reminders.start(ctx, a, s, logger)
	if err != nil {
		return err
	}
	defer stopReminders()
	if retain.Enabled() {
		defer startPurger(ctx, s, *retain, blobs, *pkgs, logger)()
	}
	stopWitness, err := startWitness(ctx, s, *keys, witness, logger)
	if err != nil {
		return err
	}
	defer stopWitness()
	srv.TrustedProxies, srv.APILimit = httpOpt.proxies, httpOpt.apiLimit()
	ln, err := web.Listen(*addr, httpOpt.maxConns)
	if err != nil {
		return err
	}
	ln.Logger = logger
	hs := web.HTTPServer(srv)
	ln.Track(hs)
	if err := httpOpt.loadTLS(hs); err != nil {
		ln.Close()
		return err
	}
	errc := make(chan error, 1)
	if httpOpt.tlsCert != "" {
		go func() { errc <- hs.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- hs.Serve(ln) }()
	}
	fmt.Fprintf(a.stdout, "envelope: serving on %s://%s (policy %s)\n", httpOpt.scheme(), ln.Addr(), p.Version())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
