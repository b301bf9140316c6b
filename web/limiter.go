package web

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"envelope/cases/store"
)

// The rate limits' buckets (the API limit per client, apilimit.go, and the
// sign-in throttle per address, throttle.go) are kept by a Limiter. Each
// instance used to keep its own, so behind a load balancer of n instances
// on one PostgreSQL a client got n times its limit (issue 18). On
// PostgreSQL they are now rows every instance shares; on SQLite, which
// serves one instance by construction, they stay in memory.

// The limits' names, which key their buckets with the client's.
const (
	limitAPI    = "api"
	limitSignIn = "sign-in"
)

// Limiter spends one request of client under a named limit, and says
// whether it is admitted or else how long until the client may send one.
// An error means it could not tell; the caller decides what that costs.
type Limiter interface {
	Take(ctx context.Context, limit, client string, now time.Time, l RateLimit) (ok bool, wait time.Duration, err error)
	// Refused says how long client's bucket is known, without spending
	// from it or asking the database, to refuse at now (0: not known to).
	Refused(limit, client string, now time.Time) time.Duration
}

// newLimiter picks where db's server keeps its buckets. On PostgreSQL, in
// the database, shared by every instance. On SQLite, in memory: the file
// is not shared across machines, so this instance's memory is the whole
// deployment's, and a row written per API request would queue every one
// behind SQLite's single writer and its fsync.
func newLimiter(db *store.DB, logger *slog.Logger) Limiter {
	if db.Dialect == store.Postgres {
		return &sharedLimiter{db: db, logger: logger}
	}
	return &memLimiter{}
}

// memLimiter keeps the buckets in this instance's memory.
type memLimiter struct{ t throttle[string] }

func (m *memLimiter) Take(_ context.Context, limit, client string, now time.Time, l RateLimit) (bool, time.Duration, error) {
	ok, wait := m.t.allow(limit+" "+client, now, l.Every, max(l.Burst, 1))
	return ok, wait, nil
}

func (m *memLimiter) Refused(limit, client string, now time.Time) time.Duration {
	return m.t.refused(limit+" "+client, now)
}

// pruneEvery is how often an instance deletes the shared buckets that are
// full again, as the memory limiter forgets its own.
const pruneEvery = time.Minute

// sharedLimiter keeps the buckets in the database (store.DB.TakeRate), so
// every instance sharing it spends from the same ones.
//
// It also remembers, in memory, each refusal until the time it told the
// client to wait for, and refuses the client's requests until then
// without asking the database. That is exact, not an estimate: a refusal
// spends nothing, and an admission only moves a bucket's time on, so no
// instance can admit the client before then. A client hammering past its
// limit thus costs the database one statement per instance and wait, not
// one per request (all of which would queue on its bucket's row lock).
type sharedLimiter struct {
	db     *store.DB
	logger *slog.Logger
	pruned atomic.Int64 // when this instance last pruned, in Unix nanoseconds

	mu      sync.Mutex
	refused map[string]time.Time // limit and client → refused until
}

func (s *sharedLimiter) Take(ctx context.Context, limit, client string, now time.Time, l RateLimit) (bool, time.Duration, error) {
	key := limit + " " + client
	if wait := s.refusedFor(key, now); wait > 0 {
		return false, wait, nil
	}
	ok, wait, err := s.db.TakeRate(ctx, limit, client, now, l.Every, max(l.Burst, 1))
	if err != nil {
		return false, 0, err
	}
	if !ok {
		s.mu.Lock()
		s.refused[key] = now.Add(wait)
		s.mu.Unlock()
	}
	s.prune(ctx, now)
	return ok, wait, nil
}

func (s *sharedLimiter) Refused(limit, client string, now time.Time) time.Duration {
	return s.refusedFor(limit+" "+client, now)
}

// refusedFor says how long key's last refusal still holds at now (0: none).
func (s *sharedLimiter) refusedFor(key string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]time.Time{}
	}
	until, ok := s.refused[key]
	if !ok {
		return 0
	}
	if !until.After(now) {
		delete(s.refused, key)
		return 0
	}
	return until.Sub(now)
}

// prune deletes the full buckets, and forgets the refusals that ended, at
// most once every pruneEvery per instance, in the request that finds it
// due (one DELETE over the rows of the clients seen in the last minutes).
// A failure is logged and tried again a period later: the rows it left
// are only full buckets.
func (s *sharedLimiter) prune(ctx context.Context, now time.Time) {
	last := s.pruned.Load()
	if now.UnixNano()-last < int64(pruneEvery) || !s.pruned.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	s.mu.Lock()
	for k, until := range s.refused {
		if !until.After(now) {
			delete(s.refused, k)
		}
	}
	s.mu.Unlock()
	if _, err := s.db.PruneRates(context.WithoutCancel(ctx), now); err != nil {
		s.logger.Warn("prune the rate-limit buckets", "err", err)
	}
}
