package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// chainOnlyAppend is the append of envelope before the Merkle tree
// (store.Audit up to migration 00008): read and lock the head, insert the
// event, advance the head. BenchmarkAuditAppend measures it beside today's
// append, in the same run, as the baseline of the ≤ 1.5x target.
func chainOnlyAppend(ctx context.Context, db *store.DB, tx *sqlx.Tx, ev *cases.Event) error {
	var head struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	lock := ""
	if db.Dialect == store.Postgres {
		lock = " FOR UPDATE"
	}
	if err := tx.GetContext(ctx, &head, "SELECT seq, hash FROM audit_head WHERE id = 1"+lock); err != nil {
		return err
	}
	ev.Seq, ev.At, ev.PrevHash = head.Seq+1, db.Now(), head.Hash
	ev.Hash = ev.ComputeHash()
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO audit_events
		(seq, at, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ev.Seq, ev.At, ev.Actor, ev.Action, ev.Entity, ev.EntityID, nil, string(ev.After), ev.PrevHash, ev.Hash); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"), ev.Seq, ev.Hash)
	return err
}

// BenchmarkAuditAppend appends one event per op, each in its own committed
// transaction, on both engines: chain-only is the old append (baseline),
// tree today's (chain, leaf and compact range). Each starts on a log of
// 10,000 events, so the range holds several subtrees.
func BenchmarkAuditAppend(b *testing.B) {
	ctx := context.Background()
	after := []byte(`{"status":"approved","note":"benchmark"}`)
	engines := map[string]func(testing.TB) *store.DB{"sqlite": func(t testing.TB) *store.DB { return storetest.SQLite(t) }, "postgres": storetest.Postgres}
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, path := range []string{"chain-only", "tree"} {
			b.Run(engine+"/"+path, func(b *testing.B) {
				db := engines[engine](b)
				seedEvents(b, db, 10_000)
				b.ResetTimer()
				for b.Loop() {
					err := db.Tx(ctx, func(tx *sqlx.Tx) error {
						if path == "tree" {
							return db.Audit(ctx, tx, "bench", "case.note", "case", "1", nil, after)
						}
						return chainOnlyAppend(ctx, db, tx, &cases.Event{Actor: "bench", Action: "case.note", Entity: "case", EntityID: "1", After: after})
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// seedEvents appends n events through store.Audit in transactions of
// 5,000: a real log, tree included.
func seedEvents(tb testing.TB, db *store.DB, n int) {
	ctx := context.Background()
	for start := 0; start < n; start += 5000 {
		err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			for i := start; i < min(start+5000, n); i++ {
				if err := db.Audit(ctx, tx, fmt.Sprintf("user%d@example.test", i%50), "case.note", "case", fmt.Sprint(i%1000+1), nil,
					map[string]any{"note": "seeded", "i": i}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

const millionEvents = 1_000_000

// BenchmarkVerifyTreeMillion verifies a SQLite log of a million events
// against a checkpoint: every event rehashed (chain and leaf), the tree
// rebuilt, the checkpoint's root compared and a consistency proof to the
// current tree verified. The log is built once (seedEvents, about a
// minute) and kept in the temporary folder.
func BenchmarkVerifyTreeMillion(b *testing.B) {
	path := filepath.Join(os.TempDir(), "envelope-bench-audit-1m-v1.db")
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		os.Remove(path + ".tmp")
		db, err := store.Open(context.Background(), path+".tmp")
		if err != nil {
			b.Fatal(err)
		}
		seedEvents(b, db, millionEvents)
		db.Close()
		if err := os.Rename(path+".tmp", path); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d events in %v", millionEvents, time.Since(start))
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	head, err := db.TreeHead(ctx)
	if err != nil || head.Size != millionEvents {
		b.Fatalf("tree head %d: %v", head.Size, err)
	}
	cp := store.TreeHead{Size: head.Size, Root: head.Root}
	// The machine is shared: CPU seconds per verification, beside the
	// wall time, tell the work from the waiting for a core.
	cpu0 := cpuSeconds()
	n := 0
	b.ResetTimer()
	for b.Loop() {
		rep, err := db.VerifyTree(ctx, []store.TreeHead{cp})
		if err != nil || !rep.Intact() || rep.Events != millionEvents {
			b.Fatalf("%v %+v", err, rep)
		}
		n++
	}
	b.ReportMetric((cpuSeconds()-cpu0)/float64(n), "cpu-s/op")
}

// cpuSeconds is the CPU time (user and system) the process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
