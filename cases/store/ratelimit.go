package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"envelope/cases"
)

// Rate limits shared by every instance of a deployment (issue 18). Each
// instance used to keep its own buckets, so behind a load balancer of n
// instances a client got n times its limit. The buckets are rows of
// rate_buckets instead, one per limit and client, and a check is one
// statement, atomic on either engine.
//
// A bucket is kept as GCRA (the generic cell rate algorithm) keeps it: the
// theoretical arrival time (tat) of the client's next request, had it sent
// them evenly, one every `every`. A request at now is admitted if tat is at
// most (burst-1)*every ahead of now, and moves tat on by every from the
// later of tat and now. That is the token bucket of golang.org/x/time/rate
// (burst requests at once, then one each every), kept in one number.

// TakeRate spends one request of client under the named limit (burst at
// once, then one more every every), for every instance sharing the
// database, and reports whether it is admitted, or else how long until
// the client may send one. Concurrent calls, from one instance or many,
// never admit more than the limit: the check and the update are one
// INSERT ... ON CONFLICT DO UPDATE, whose row lock makes a concurrent
// check of the same bucket wait and then see its result.
//
// now is the instance's clock: instances must keep their clocks in step
// (NTP), or one ahead of the others by d admits about d/every more.
func (db *DB) TakeRate(ctx context.Context, limit, client string, now time.Time, every time.Duration, burst int) (ok bool, wait time.Duration, err error) {
	switch {
	case limit == "":
		return false, 0, cases.Errorf(cases.EINVALID, "limit: a rate limit needs a name")
	case client == "":
		return false, 0, cases.Errorf(cases.EINVALID, "client: a rate limit needs a client key")
	case every < time.Microsecond:
		return false, 0, cases.Errorf(cases.EINVALID, "every: a rate limit's period must be at least a microsecond, not %s", every)
	case burst < 1:
		return false, 0, cases.Errorf(cases.EINVALID, "burst: a rate limit's burst must be at least 1, not %d", burst)
	}
	t, T := now.UnixMicro(), every.Microseconds()
	tau := T * int64(burst-1) // how far ahead of now tat may be
	later := "GREATEST"
	if db.Dialect == SQLite {
		later = "max" // SQLite's scalar max of its arguments
	}
	var tat int64
	err = db.w.GetContext(ctx, &tat, db.w.Rebind(`INSERT INTO rate_buckets (name, client, tat) VALUES (?, ?, ?)
		ON CONFLICT (name, client) DO UPDATE SET tat = `+later+`(rate_buckets.tat, ?) + ?
		WHERE `+later+`(rate_buckets.tat, ?) - ? <= ?
		RETURNING tat`), limit, client, t+T, t, T, t, t, tau)
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, 0, fmt.Errorf("take from the %s rate limit: %w", limit, err)
	}
	// Refused: the row was left as it was. Its tat says when the client
	// may try again; read apart, it serves only Retry-After.
	err = db.w.GetContext(ctx, &tat, db.w.Rebind("SELECT tat FROM rate_buckets WHERE name = ? AND client = ?"), limit, client)
	if errors.Is(err, sql.ErrNoRows) {
		return false, every, nil // pruned meanwhile: full again by now
	} else if err != nil {
		return false, 0, fmt.Errorf("read the %s rate limit: %w", limit, err)
	}
	return false, max(time.Duration(tat-t-tau)*time.Microsecond, time.Microsecond), nil
}

// PruneRates deletes the buckets full again at now (their tat has passed),
// which are the same as no row, and returns how many it deleted. A check
// racing the prune is safe: PostgreSQL re-checks a row updated meanwhile
// before deleting it, and an upsert whose row was deleted inserts it anew.
func (db *DB) PruneRates(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, db.w.Rebind("DELETE FROM rate_buckets WHERE tat <= ?"), now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("prune the rate limits: %w", err)
	}
	return res.RowsAffected()
}
