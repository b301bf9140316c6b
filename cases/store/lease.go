package store

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// LeaseTTL bounds how long a SQLite lease outlives an instance that died
// holding it: after that another instance may run the job. A job that runs
// longer keeps its lease by renewal (see Exclusive).
const LeaseTTL = 2 * time.Minute

// Exclusive runs fn if no other instance sharing the database is running
// the job of that name, and reports whether it ran. It is how the
// schedulers (scheduled productions, purges, retention, reminders) run on
// exactly one of several instances: on PostgreSQL a session advisory lock
// (pg_try_advisory_lock on a dedicated connection, released by the server
// if the instance dies), on SQLite a row of the leases table, renewed while
// fn runs and expiring LeaseTTL after an instance died holding it.
// An instance that does not get the job skips this run; it does not wait.
func (db *DB) Exclusive(ctx context.Context, job string, fn func(ctx context.Context) error) (ran bool, err error) {
	if db.Dialect == Postgres {
		return db.advisory(ctx, job, fn)
	}
	return db.leased(ctx, job, fn)
}

// advisory is Exclusive on PostgreSQL.
func (db *DB) advisory(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error) {
	conn, err := db.w.Connx(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	key := lockKey(job)
	var got bool
	if err := conn.GetContext(ctx, &got, "SELECT pg_try_advisory_lock($1)", key); err != nil {
		return false, fmt.Errorf("lock %s: %w", job, err)
	}
	if !got {
		return false, nil
	}
	// Unlocked on a fresh context: a cancelled ctx must not leave the lock
	// held on a pooled connection. Should the unlock fail, the connection
	// is marked bad, so database/sql closes it and the lock ends with it.
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return true, fn(ctx)
}

// lockKey maps a job name to the bigint key space of advisory locks, with
// a prefix so envelope's keys do not meet another application's.
func lockKey(job string) int64 {
	h := fnv.New64a()
	h.Write([]byte("envelope:" + job))
	return int64(h.Sum64())
}

// leased is Exclusive on SQLite.
func (db *DB) leased(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error) {
	b := make([]byte, 8)
	rand.Read(b)
	holder := hex.EncodeToString(b)
	take := func() (bool, error) {
		now := time.Now().UTC()
		res, err := db.w.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE leases.expires_at < ? OR leases.holder = excluded.holder`, job, holder, now.Add(LeaseTTL), now)
		if err != nil {
			return false, fmt.Errorf("lease %s: %w", job, err)
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	got, err := take()
	if err != nil || !got {
		return false, err
	}
	// Renew while fn runs, so a long job is not taken over; the renewer
	// has stopped before the lease is given back, or it could take it again.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(LeaseTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				take()
			}
		}
	}()
	defer func() {
		close(done)
		wg.Wait()
		db.w.ExecContext(context.WithoutCancel(ctx), "DELETE FROM leases WHERE name = ? AND holder = ?", job, holder)
	}()
	return true, fn(ctx)
}
