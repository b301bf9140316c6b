package storetest

import (
	"testing"
	"time"

	"envelope/cases/store"
)

// Await waits until done delivers a result, or until a session of db's
// PostgreSQL database waits for a lock, and returns the statements found
// waiting, or the result. Concurrency tests use it to tell "blocked" from
// "not finished yet" by asking the server, never by a time limit.
func Await(t testing.TB, db *store.DB, done <-chan error) (waiting []string, err error) {
	t.Helper()
	for {
		select {
		case err := <-done:
			return nil, err
		default:
		}
		if err := db.Reader().Select(&waiting, `SELECT query FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatalf("read pg_stat_activity: %v", err)
		}
		if len(waiting) > 0 {
			return waiting, nil
		}
		time.Sleep(time.Millisecond)
	}
}
