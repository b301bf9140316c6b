package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// TestExclusive: of two instances (two handles on one database) running a
// scheduled job at once, exactly one runs it at a time; the other skips
// rather than waits; the job can be run again once it ended; an error of
// the job comes back to its caller.
func TestExclusive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, a *store.DB) {
		ctx := context.Background()
		b, err := store.Open(ctx, a.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		var inside, most, ran, skipped atomic.Int32
		job := func(ctx context.Context) error {
			n := inside.Add(1)
			defer inside.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(30 * time.Millisecond)
			return nil
		}
		var wg sync.WaitGroup
		for i := range 8 {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					ok, err := db.Exclusive(ctx, "produce", job)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						ran.Add(1)
					} else {
						skipped.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if most.Load() != 1 || ran.Load() == 0 || skipped.Load() == 0 {
			t.Errorf("%d at once at most, %d runs, %d skipped: want 1 at once, some runs and some skips", most.Load(), ran.Load(), skipped.Load())
		}
		// Another job's name is not blocked by this one, and a finished
		// job is free again.
		ok, err := b.Exclusive(ctx, "produce", func(ctx context.Context) error {
			other, err := a.Exclusive(ctx, "purge", func(context.Context) error { return nil })
			if !other || err != nil {
				t.Errorf("purge while produce runs: ran %v, %v", other, err)
			}
			return errors.New("boom")
		})
		if !ok || err == nil || err.Error() != "boom" {
			t.Errorf("free job: ran %v, err %v", ok, err)
		}
	})
}

// TestLeaseOfADeadInstance: on SQLite a lease left by an instance that died
// holding it is taken over once it expired, and not before.
func TestLeaseOfADeadInstance(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	if _, err := db.Writer().ExecContext(ctx, "INSERT INTO leases (name, holder, expires_at) VALUES ('produce', 'dead', ?)", time.Now().UTC().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	nop := func(context.Context) error { return nil }
	if ok, err := db.Exclusive(ctx, "produce", nop); ok || err != nil {
		t.Fatalf("live lease of another instance: ran %v, %v", ok, err)
	}
	if _, err := db.Writer().ExecContext(ctx, "UPDATE leases SET expires_at = ?", time.Now().UTC().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.Exclusive(ctx, "produce", nop); !ok || err != nil {
		t.Fatalf("expired lease: ran %v, %v", ok, err)
	}
}

// TestSecretIsTheDeployments: two instances asking for the same secret get
// the same 32 bytes, made once; another name is another secret.
func TestSecretIsTheDeployments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, a *store.DB) {
		ctx := context.Background()
		b, err := store.Open(ctx, a.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		k1, err1 := a.Secret(ctx, "links")
		k2, err2 := b.Secret(ctx, "links")
		k3, err3 := b.Secret(ctx, "other")
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		if len(k1) != 32 || string(k1) != string(k2) || string(k1) == string(k3) {
			t.Errorf("secrets %x / %x / %x", k1, k2, k3)
		}
	})
}
