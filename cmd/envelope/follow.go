package main

import (
	"context"
	"log/slog"
	"time"

	"envelope/cases/store"
	"envelope/policy"
	"envelope/policy/clock"
	"envelope/web"
)

// followEvery is how often an instance asks the database whether another
// instance activated a policy or clock rules: a quarter of a second keeps
// every instance deciding, and computing deadlines, under the same rules
// within a second of an activation, for one indexed MAX(id) a poll.
const followEvery = 250 * time.Millisecond

// rulesFile is a kind of rules file an instance follows: where its
// activations are stored, the version in force, and how to load and put a
// source in force.
type rulesFile struct {
	what    string
	table   store.Activations
	current func() string
	apply   func(src []byte) (version string, err error)
}

// followRules keeps the policy and the clock rules in force in step with
// activations made on other instances sharing the database, until ctx ends.
func followRules(ctx context.Context, db *store.DB, srv *web.Server, logger *slog.Logger, every time.Duration) {
	files := []rulesFile{
		{what: "policy", table: store.PolicyActivations, current: func() string { return srv.Policy().Version() },
			apply: func(src []byte) (string, error) {
				p, err := policy.Load(src)
				if err == nil {
					srv.SetPolicy(p)
					return p.Version(), nil
				}
				return "", err
			}},
		{what: "clock rules", table: store.ClockActivations, current: func() string { return srv.Clocks().Version() },
			apply: func(src []byte) (string, error) {
				c, err := clock.Load(src)
				if err == nil {
					srv.SetClocks(c)
					return c.Version(), nil
				}
				return "", err
			}},
	}
	done := make(chan struct{})
	for _, f := range files {
		go func() { follow(ctx, db, f, logger, every); done <- struct{}{} }()
	}
	for range files {
		<-done
	}
}

// follow follows one kind of rules file. Only activations newer than the
// one current when it starts are followed, so a server started with an
// explicit --policy or --clock keeps it until someone activates another.
// An activated file that does not load here (an instance running an older
// envelope) is logged as an error and the rules in force stay: an instance
// never decides under rules it cannot read.
func follow(ctx context.Context, db *store.DB, f rulesFile, logger *slog.Logger, every time.Duration) {
	seen, err := db.LatestActivationID(ctx, f.table)
	if err != nil {
		logger.Error("follower: cannot read the activations; those on other instances are not followed", "rules", f.what, "err", err)
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		id, err := db.LatestActivationID(ctx, f.table)
		if err != nil || id == seen {
			if err != nil && ctx.Err() == nil {
				logger.Warn("follower: poll failed", "rules", f.what, "err", err)
			}
			continue
		}
		_, src, err := db.LatestActivation(ctx, f.table)
		if err != nil {
			continue // asked again on the next tick
		}
		seen = id
		old := f.current()
		version, err := f.apply(src)
		switch {
		case err != nil:
			logger.Error("follower: the rules activated on another instance do not load here; the rules in force stay", "rules", f.what, "activation", id, "err", err)
		case version != old:
			logger.Info("follower: now in force, as activated on another instance", "rules", f.what, "activation", id, "version", version, "previous", old)
		}
	}
}
