package store_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// TestTakeRate: a client gets its burst at once, then is refused and told
// to wait one period; after it, exactly one more; buckets of another
// client or another limit are apart; a bad argument is refused naming it.
func TestTakeRate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		take := func(limit, client string, at time.Time) (bool, time.Duration) {
			t.Helper()
			ok, wait, err := db.TakeRate(ctx, limit, client, at, time.Second, 3)
			if err != nil {
				t.Fatal(err)
			}
			return ok, wait
		}
		for i := range 3 {
			if ok, _ := take("api", "token:a", t0); !ok {
				t.Fatalf("burst request %d refused", i+1)
			}
		}
		if ok, wait := take("api", "token:a", t0); ok || wait != time.Second {
			t.Fatalf("past the burst: %v, wait %v", ok, wait)
		}
		// A refusal spends nothing: half a period on, the wait is half.
		if ok, wait := take("api", "token:a", t0.Add(500*time.Millisecond)); ok || wait != 500*time.Millisecond {
			t.Fatalf("half a period on: %v, wait %v", ok, wait)
		}
		if ok, _ := take("api", "token:a", t0.Add(time.Second)); !ok {
			t.Fatal("refused after the wait it was told")
		}
		if ok, _ := take("api", "token:a", t0.Add(time.Second)); ok {
			t.Fatal("one period earned two requests")
		}
		if ok, _ := take("api", "token:b", t0); !ok {
			t.Error("another client was held up")
		}
		if ok, _ := take("sign-in", "token:a", t0); !ok {
			t.Error("another limit of the same client was held up")
		}
		// Long idle, the bucket holds its burst again, not more.
		later := t0.Add(time.Hour)
		for i := range 3 {
			if ok, _ := take("api", "token:a", later); !ok {
				t.Fatalf("after an hour, request %d refused", i+1)
			}
		}
		if ok, _ := take("api", "token:a", later); ok {
			t.Error("an idle hour earned more than the burst")
		}
		for _, c := range []struct {
			field, limit, client string
			every                time.Duration
			burst                int
		}{
			{"limit", "", "c", time.Second, 1},
			{"client", "api", "", time.Second, 1},
			{"every", "api", "c", 0, 1},
			{"burst", "api", "c", time.Second, 0},
		} {
			_, _, err := db.TakeRate(ctx, c.limit, c.client, t0, c.every, c.burst)
			if cases.ErrorCode(err) != cases.EINVALID || !strings.HasPrefix(cases.ErrorMessage(err), c.field+":") {
				t.Errorf("bad %s: %v", c.field, err)
			}
		}
	})
}

// TestTakeRateConcurrent: many checks at once, through four handles on
// one database (four instances, each with its own connection pool), admit
// exactly the burst, not one more. A check that read the bucket and then
// wrote it would let several checks read the same count on PostgreSQL.
func TestTakeRateConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, a *store.DB) {
		ctx := context.Background()
		dbs := []*store.DB{a}
		for range 3 {
			b, err := store.Open(ctx, a.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			dbs = append(dbs, b)
		}
		const burst, workers, each = 37, 32, 8
		now := time.Now().UTC()
		var admitted, refused atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range each {
					// An hour's period: nothing refills while the test runs.
					ok, _, err := dbs[i%len(dbs)].TakeRate(ctx, "api", "token:shared", now, time.Hour, burst)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						admitted.Add(1)
					} else {
						refused.Add(1)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		if admitted.Load() != burst || refused.Load() != workers*each-burst {
			t.Fatalf("%d checks at once admitted %d and refused %d; want %d admitted", workers*each, admitted.Load(), refused.Load(), burst)
		}
	})
}

// TestPruneRates: the buckets full again are deleted, the others kept
// with what they spent; a pruned client starts with a full bucket.
func TestPruneRates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			client string
			every  time.Duration
		}{{"addr:192.0.2.1", time.Second}, {"addr:192.0.2.2", time.Hour}} {
			if _, _, err := db.TakeRate(ctx, "sign-in", c.client, t0, c.every, 2); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.PruneRates(ctx, t0.Add(time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d (%v); want the one full bucket", n, err)
		}
		var left []string
		if err := db.Reader().Select(&left, "SELECT client FROM rate_buckets"); err != nil || len(left) != 1 || left[0] != "addr:192.0.2.2" {
			t.Fatalf("left %v (%v)", left, err)
		}
		// The kept bucket still has one of its two.
		at := t0.Add(time.Minute)
		if ok, _, _ := db.TakeRate(ctx, "sign-in", "addr:192.0.2.2", at, time.Hour, 2); !ok {
			t.Error("the kept bucket lost its second request")
		}
		if ok, _, _ := db.TakeRate(ctx, "sign-in", "addr:192.0.2.2", at, time.Hour, 2); ok {
			t.Error("the kept bucket forgot what it spent")
		}
	})
}
