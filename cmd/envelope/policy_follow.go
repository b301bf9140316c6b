package main

import (
	"context"
	"log/slog"
	"time"

	"envelope/cases/store"
	"envelope/policy"
	"envelope/web"
)

// policyFollowEvery is how often followPolicy asks the database whether
// another instance activated a policy: a quarter of a second keeps every
// instance deciding under the same policy within a second of an
// activation, for one indexed MAX(id) a poll.
const policyFollowEvery = 250 * time.Millisecond

// followPolicy keeps the policy in force in step with activations made on
// other instances sharing the database, until ctx ends. Only activations
// newer than the one current when it starts are followed, so a server
// started with an explicit --policy keeps it until someone activates
// another. An activated policy that does not load here (an instance
// running an older envelope) is logged as an error and the policy in force
// stays: an instance never decides under a policy it cannot read.
func followPolicy(ctx context.Context, db *store.DB, srv *web.Server, logger *slog.Logger, every time.Duration) {
	seen, err := db.LatestPolicyID(ctx)
	if err != nil {
		logger.Error("policy follower: cannot read the policy table; activations on other instances are not followed", "err", err)
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
		id, err := db.LatestPolicyID(ctx)
		if err != nil || id == seen {
			if err != nil && ctx.Err() == nil {
				logger.Warn("policy follower: poll failed", "err", err)
			}
			continue
		}
		_, src, err := db.LatestPolicy(ctx)
		if err != nil {
			continue // asked again on the next tick
		}
		seen = id
		p, err := policy.Load(src)
		if err != nil {
			logger.Error("policy follower: the policy activated on another instance does not load here; the policy in force stays", "activation", id, "err", err)
			continue
		}
		if old := srv.Policy(); old.Version() != p.Version() {
			srv.SetPolicy(p)
			logger.Info("policy follower: now deciding under the policy activated on another instance", "activation", id, "version", p.Version(), "previous", old.Version())
		}
	}
}
