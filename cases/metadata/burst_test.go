package metadata

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A mixed write burst (creates, approvals that open collection windows,
// notes, legal holds, collection, production cursors, closes) from many
// goroutines, on one store and on two stores (two connection pools, as two
// instances of envelope serve) sharing one PostgreSQL database: no
// deadlock or serialization failure may reach a caller. Before the lock
// order and the retry in store.DB.Tx about one request in a hundred of
// such a burst failed with 40P01 (issue 18).
func TestMixedWriteBurstNoDeadlock(t *testing.T) {
	if testing.Short() {
		t.Skip("a burst of concurrent writes")
	}
	dsn := storetest.PostgresDSN(t)
	open := func() *store.DB {
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a := open()
	f := newFixture(t, a)
	b := open()
	b.Now = a.Now
	sb := New(b)
	t.Run("one store", func(t *testing.T) { burst(t, f, []*store.DB{a}, []*Store{f.s}) })
	t.Run("two stores", func(t *testing.T) { burst(t, f, []*store.DB{a, b}, []*Store{f.s, sb}) })
	if _, err := a.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit log after the burst: %v", err)
	}
	// The retry would hide a wrong lock order from the callers: the order
	// itself must leave PostgreSQL nothing to abort for a deadlock.
	t.Logf("transactions run again: %d (deadlocks %d)", a.Retries()+b.Retries(), a.Deadlocks()+b.Deadlocks())
	if n := a.Deadlocks() + b.Deadlocks(); n > 0 {
		t.Fatalf("%d transactions were aborted for a deadlock: the lock order (cases/store/lockorder.go) is not kept", n)
	}
}

func burst(t *testing.T, f *fixture, dbs []*store.DB, stores []*Store) {
	const workers, rounds = 16, 12
	var kept, refusals atomic.Int64
	var mu sync.Mutex
	var open []*cases.Case // approved cases, shared by the workers
	var failures []string
	fail := func(what string, err error) {
		if err != nil && cases.ErrorCode(err) != "" {
			refusals.Add(1)
		}
		if err == nil || cases.ErrorCode(err) != "" {
			return // a refusal (a conflict, a hold already placed) is an answer, not a failure
		}
		mu.Lock()
		failures = append(failures, what+": "+err.Error())
		mu.Unlock()
	}
	pick := func(rng *rand.Rand) *cases.Case {
		mu.Lock()
		defer mu.Unlock()
		if len(open) == 0 {
			return nil
		}
		// The newest few: the burst is on the same rows, as a busy team's is.
		return open[len(open)-1-rng.IntN(min(len(open), 4))]
	}
	defer func() { t.Logf("%d pairs kept, %d refusals", kept.Load(), refusals.Load()) }()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 18))
			db, s := dbs[w%len(dbs)], stores[w%len(stores)]
			for r := range rounds {
				target := fmt.Sprintf("+1415555%02d%02d", w, r)
				switch op := (w + r) % 6; op {
				case 0, 1: // log and approve: the approval opens windows
					c, err := db.CreateCase(ctx, f.intake.Email, store.NewCase{Request: penRequest(target), Decision: penDecision()})
					if err != nil {
						fail("create", err)
						continue
					}
					c, err = db.Review(ctx, f.reviewer, c.Number, cases.StatusApproved, "")
					fail("approve", err)
					if err == nil {
						mu.Lock()
						open = append(open, c)
						mu.Unlock()
					}
				case 2: // collect pairs of the open targets
					var lines []string
					for range 40 {
						if c := pick(rng); c != nil {
							lines = append(lines, eventLine(c.Request.Targets[0].Value, "+447911123456", T0.Add(time.Minute), "text"))
						}
					}
					res, err := s.Collect(ctx, strings.NewReader(strings.Join(lines, "\n")), CollectOptions{})
					fail("collect", err)
					kept.Add(res.Kept)
				case 3: // a note and a production cursor
					if c := pick(rng); c != nil {
						fail("note", db.AddNote(ctx, f.reviewer, c.Number, "called the agency"))
						_, err := s.LastPairID(ctx, c.ID)
						fail("last pair", err)
					}
				case 4: // a legal hold placed and released
					if c := pick(rng); c != nil {
						_, err := retention.PlaceHold(ctx, db, f.reviewer, c.Number, "litigation")
						fail("hold", err)
						_, err = retention.ReleaseHold(ctx, db, f.reviewer, c.Number, "settled")
						fail("release", err)
					}
				case 5: // a close ends the case's windows
					if c := pick(rng); c != nil {
						_, err := db.CloseCase(ctx, f.intake, c.Number, "order withdrawn")
						fail("close", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d operations failed, first: %s", len(failures), failures[0])
	}
}

func penRequest(target string) *cases.Request {
	return &cases.Request{
		ReceivedAt: T0.Add(-time.Hour),
		Agency:     cases.Agency{Name: "Federal Bureau of Investigation", Country: "US", VerifiedDomains: []string{"fbi.gov"}},
		Requester:  cases.Requester{Name: "Dana Reyes", Email: "dreyes@fbi.gov"},
		Process:    cases.Process{Type: cases.PenRegister, IssuingAuthority: "N.D. Cal.", Reference: "3:26-mj-" + target[len(target)-4:]},
		Targets:    []cases.Target{{Kind: cases.TargetPhone, Value: target}},
		Categories: []cases.Category{cases.MessagePairs},
	}
}

func penDecision() *cases.Decision {
	return &cases.Decision{Outcome: cases.OutcomeApprove, PolicyVersion: "sha256:test", DecidedAt: T0.Add(-time.Hour),
		Allowed: []cases.Allowed{{Category: cases.MessagePairs, Rule: "US-PEN-REGISTER", Window: &cases.Window{From: T0.Add(-time.Hour), To: T0.Add(30 * 24 * time.Hour)}, Prospective: true}},
		Denied:  []cases.Denied{}, Findings: []cases.Finding{}, UserNotice: cases.NoticeDelayed}
}
