package store_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Two transactions that lock two rows in opposite orders deadlock;
// PostgreSQL aborts one of them (40P01). Tx runs the aborted one again, so
// both callers succeed and nobody sees the deadlock. The two run on two
// stores (two connection pools, as two instances) of one database.
func TestTxRetriesDeadlock(t *testing.T) {
	a, b := twoStores(t)
	ada := user(t, a, "ada@example.org", cases.RoleReviewer)
	bob := user(t, a, "bob@example.org", cases.RoleReviewer)

	// Both hold their first row before either asks for its second, on
	// the first attempt only: a retry then finds the other done or waits.
	var first sync.WaitGroup
	first.Add(2)
	var attempts atomic.Int32
	cross := func(db *store.DB, one, two int64) error {
		var tried atomic.Bool
		return db.Tx(ctx, func(tx *sqlx.Tx) error {
			attempts.Add(1)
			if _, err := tx.Exec("UPDATE users SET email = email WHERE id = $1", one); err != nil {
				return err
			}
			if !tried.Swap(true) {
				first.Done()
				first.Wait()
			}
			_, err := tx.Exec("UPDATE users SET email = email WHERE id = $1", two)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- cross(a, ada.ID, bob.ID) }()
	go func() { errs <- cross(b, bob.ID, ada.ID) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a deadlock reached the caller: %v", err)
		}
	}
	if n := attempts.Load(); n < 3 {
		t.Fatalf("%d attempts: no deadlock was provoked", n)
	}
	if a.Retries()+b.Retries() == 0 {
		t.Fatal("no retry counted")
	}
}

// twoStores opens one fresh PostgreSQL database twice: two connection
// pools, as two instances of envelope serve have.
func twoStores(t *testing.T) (*store.DB, *store.DB) {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	var dbs [2]*store.DB
	for i := range dbs {
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs[0], dbs[1]
}
