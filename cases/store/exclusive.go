package store

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// Exclusive runs fn unless another process sharing the database is running
// the job of the same name, and reports whether it ran. Several instances
// of envelope serve on one PostgreSQL each run the schedulers (production,
// purges); without this they raced, and 37% of scheduled productions were
// built, signed and thrown away after losing (issue 18).
//
// On PostgreSQL it holds a session advisory lock, keyed by the job's name,
// on a connection of its own for as long as fn runs: a crashed instance's
// lock ends with its connection, so no lease needs to expire. The lock is
// tried, not waited for: the instance that finds it held skips this run,
// and its next run finds the work already done. On SQLite, whose file one
// server serves, fn just runs.
func (db *DB) Exclusive(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error) {
	if db.Dialect != Postgres {
		return true, fn(ctx)
	}
	conn, err := db.w.Connx(ctx)
	if err != nil {
		return false, fmt.Errorf("%s: take a connection for its lock: %w", job, err)
	}
	defer conn.Close()
	var got bool
	// The key space is shared with goose's migration lock, which uses a
	// fixed constant; hashtextextended of "envelope job: NAME" will not
	// meet it.
	if err := conn.GetContext(ctx, &got, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", "envelope job: "+job); err != nil {
		return false, fmt.Errorf("%s: take its lock: %w", job, err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		// A context already ended must not keep the lock: unlock with a
		// fresh one. Should that fail, closing the connection ends it.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", "envelope job: "+job); err != nil {
			// database/sql closes a connection that says it is bad, and the
			// lock ends with it.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return true, fn(ctx)
}
