package metadata

import (
	"runtime"
	"testing"

	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A reload waiting for a database connection holds no lock, so a collector
// that reloads inside its own transaction (on a connection it already has)
// is never stuck behind it. On PostgreSQL, where reads and writes share one
// pool, the lock used to be held across the wait: under load the writers
// queued behind that collector used the pool up, and the whole server
// stopped (the soak test of cmd/envelope).
func TestReloadHoldsNoLockWhileWaiting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := New(db)
		v, err := stateVersion(ctx, db.Reader(), db.Dialect, false)
		if err != nil {
			t.Fatal(err)
		}
		// The collector's transaction takes the pool's only connection.
		db.Reader().SetMaxOpenConns(1)
		tx, err := db.Reader().Beginx()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		waiting := make(chan error, 1)
		go func() { _, err := s.reload(ctx, db.Reader(), v); waiting <- err }()
		for db.Reader().Stats().WaitCount == 0 {
			runtime.Gosched()
			select {
			case err := <-waiting:
				t.Fatalf("the reload read without a connection: %v", err)
			default:
			}
		}
		if !s.filter.mu.TryLock() {
			tx.Rollback()
			<-waiting
			t.Fatal("a reload holds the filter's lock while it waits for a connection")
		}
		s.filter.mu.Unlock()
		if _, err := s.reload(ctx, tx, v); err != nil {
			t.Fatalf("the collector's own reload: %v", err)
		}
		tx.Rollback()
		if err := <-waiting; err != nil {
			t.Fatal(err)
		}
	})
}
