package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
)

// txAttempts bounds how many times Tx runs a transaction that PostgreSQL
// aborts for a deadlock or a serialization failure. Each abort means
// another transaction won and committed, so a burst of N writers on one row
// needs about N tries at worst; eight covers the bursts the soak test
// makes, and past that the error is returned rather than looping forever.
const txAttempts = 8

// txBackoff is the first wait between attempts; it doubles each time, with
// full jitter, so the transactions that collided do not collide again in
// lockstep.
const txBackoff = 2 * time.Millisecond

// Tx runs fn in a write transaction: all of it is committed, or none of it.
//
// It is the single place where a transaction PostgreSQL aborted for a
// deadlock (40P01) or a serialization failure (40001) is run again: nothing
// of an aborted transaction was committed, so running fn again from the
// start is always safe for the database. fn may therefore run more than
// once: it must change state only through tx, and set (not accumulate)
// any variable of its caller.
func (db *DB) Tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	wait := txBackoff
	for attempt := 1; ; attempt++ {
		err := db.tx(ctx, fn)
		if err == nil || !Retryable(err) || attempt == txAttempts {
			return err
		}
		db.retries.Add(1)
		if deadlock(err) {
			db.deadlocks.Add(1)
		}
		slog.Debug("transaction aborted by the database, trying again", "attempt", attempt, "err", err)
		t := time.NewTimer(rand.N(wait) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

// Retries counts the transactions Tx ran again after the database aborted
// them; the metrics expose it.
func (db *DB) Retries() uint64 { return db.retries.Load() }

// Deadlocks counts, of the Retries, the transactions PostgreSQL aborted
// for a deadlock: with the one lock order (lockorder.go) there should be
// none, so a test can tell a wrong order from the retry hiding it.
func (db *DB) Deadlocks() uint64 { return db.deadlocks.Load() }

// tx runs fn once.
func (db *DB) tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	db.commits.Add(1)
	return nil
}

// Retryable reports whether err is PostgreSQL aborting a transaction for a
// deadlock (40P01) or a serialization failure (40001): the transaction did
// nothing and may be run again as it was.
func Retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001"
	}
	return false
}

// deadlock reports whether err is PostgreSQL's deadlock abort (40P01).
func deadlock(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "40P01"
}
