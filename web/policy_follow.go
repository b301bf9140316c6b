package web

import (
	"context"
	"time"

	"envelope/policy"
)

// PolicyFollowEvery is how often FollowPolicy asks the database whether
// another instance activated a policy: a quarter of a second keeps every
// instance deciding under the same policy within a second of an
// activation, for one indexed MAX(id) a poll.
const PolicyFollowEvery = 250 * time.Millisecond

// FollowPolicy keeps the policy in force in step with activations made on
// other instances sharing the database, until ctx ends. Only activations
// newer than the one current when it starts are followed, so a server
// started with an explicit --policy keeps it until someone activates
// another. An activated policy that does not load here (an instance
// running an older envelope) is logged as an error and the policy in force
// stays: an instance never decides under a policy it cannot read.
func (s *Server) FollowPolicy(ctx context.Context, every time.Duration) {
	seen, err := s.DB.LatestPolicyID(ctx)
	if err != nil {
		s.Logger.Error("policy follower: cannot read the policy table; activations on other instances are not followed", "err", err)
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
		id, err := s.DB.LatestPolicyID(ctx)
		if err != nil || id == seen {
			if err != nil && ctx.Err() == nil {
				s.Logger.Warn("policy follower: poll failed", "err", err)
			}
			continue
		}
		_, src, err := s.DB.LatestPolicy(ctx)
		if err != nil {
			continue // asked again on the next tick
		}
		seen = id
		p, err := policy.Load(src)
		if err != nil {
			s.Logger.Error("policy follower: the policy activated on another instance does not load here; the policy in force stays", "activation", id, "err", err)
			continue
		}
		if old := s.Policy(); old.Version() != p.Version() {
			s.SetPolicy(p)
			s.Logger.Info("policy follower: now deciding under the policy activated on another instance", "activation", id, "version", p.Version(), "previous", old.Version())
		}
	}
}
