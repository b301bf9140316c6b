package retention_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"envelope/cases/retention"
	"envelope/cases/store"
)

// Sizes of the benchmark database.
const (
	benchCases      = 1_000_000
	benchPairCases  = 1_000
	benchPairsEach  = 1_000
	benchDueClosed  = 1_000 // closed long ago, with a document and pairs
	benchDuePairsAt = 20    // pairs of each due case
)

// benchNow is when the benchmark purges; every case but the due ones was
// closed or collected within a day of it.
var benchNow = time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)

// benchDB opens a copy of a SQLite database of benchCases cases (a third
// closed) and benchPairCases*benchPairsEach collected pairs, built once
// into the temporary folder. Only benchDueClosed cases are due a purge
// under a 30-day limit.
func benchDB(b *testing.B) *store.DB {
	b.Helper()
	path := filepath.Join(os.TempDir(), "envelope-bench-retention-v1.db")
	if _, err := os.Stat(path); err != nil {
		if err := seedBench(path + ".tmp"); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			b.Fatal(err)
		}
	}
	cp := filepath.Join(b.TempDir(), "e.db")
	src, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(cp, src, 0o600); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(ctx, cp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func seedBench(path string) error {
	os.Remove(path)
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	w := db.Writer()
	if _, err := w.Exec("INSERT INTO agencies (name, country) VALUES ('Agency', 'US')"); err != nil {
		return err
	}
	recent, old := benchNow.Add(-time.Hour), benchNow.Add(-365*24*time.Hour)
	const (
		caseSQL = `INSERT INTO cases (id, number, status, agency_id, agency_country, process_type, reference,
			received_at, target_count, request_json, created_by, created_at, updated_at, closed_at)
			VALUES (?, ?, ?, 1, 'US', 'pen_register', 'REF', ?, 1, '{}', 'bench', ?, ?, ?)`
		docSQL = `INSERT INTO case_documents (case_id, filename, size, sha256, content, uploaded_by, uploaded_at)
			VALUES (?, 'order.pdf', 9, 'x', '%PDF-1.4 ', 'bench', ?)`
		pairSQL = `INSERT INTO collected_pairs (case_id, at, from_account, to_account, kind, collected_at) VALUES (?, ?, 'a', ?, 'text', ?)`
	)
	tx := w.MustBegin()
	for id := int64(1); id <= benchCases; id++ {
		status, closed := "produced", any(nil)
		switch {
		case id <= benchDueClosed:
			status, closed = "closed", old
		case id%3 == 0:
			status, closed = "closed", recent
		}
		if _, err := tx.Exec(caseSQL, id, fmt.Sprintf("LR-2026-%07d", id), status, old, old, recent, closed); err != nil {
			return err
		}
		if id <= benchDueClosed {
			if _, err := tx.Exec(docSQL, id, old); err != nil {
				return err
			}
			for i := range benchDuePairsAt {
				if _, err := tx.Exec(pairSQL, id, old.Add(time.Duration(i)*time.Second), "due", old); err != nil {
					return err
				}
			}
		}
		if id%50_000 == 0 {
			if err := tx.Commit(); err != nil {
				return err
			}
			tx = w.MustBegin()
		}
	}
	// The pairs of produced pen registers, all collected within the day.
	for c := int64(0); c < benchPairCases; c++ {
		id := benchDueClosed + 1 + c*3 + 1 // produced, not closed
		for i := range benchPairsEach {
			if _, err := tx.Exec(pairSQL, id, recent.Add(time.Duration(i)*time.Second), fmt.Sprint(i), recent); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = w.Exec("ANALYZE")
	return err
}

// BenchmarkPurgeIdle is the hourly pass when nothing is due: the cost of
// finding that out.
func BenchmarkPurgeIdle(b *testing.B) {
	db := benchDB(b)
	db.Writer().MustExec("UPDATE cases SET purged_at = ? WHERE id <= ?", benchNow, benchDueClosed)
	db.Writer().MustExec("DELETE FROM collected_pairs WHERE case_id <= ?", benchDueClosed)
	p := &retention.Purger{DB: db, Settings: retention.Settings{Pairs: 30 * day, Closed: 30 * day}}
	b.ResetTimer()
	for b.Loop() {
		rep, err := p.Purge(ctx, benchNow, false)
		if err != nil || len(rep.Purged) != 0 {
			b.Fatalf("%v %+v", err, rep)
		}
	}
}

// BenchmarkPurgeClosedCases purges benchDueClosed closed cases, each in
// its own transaction with its audit event; it reports cases per second.
func BenchmarkPurgeClosedCases(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db := benchDB(b)
		p := &retention.Purger{DB: db, Settings: retention.Settings{Closed: 30 * day}}
		b.StartTimer()
		start := time.Now()
		rep, err := p.Purge(ctx, benchNow, false)
		if err != nil || len(rep.Purged) != benchDueClosed {
			b.Fatalf("%v: purged %d", err, len(rep.Purged))
		}
		b.ReportMetric(float64(benchDueClosed)/time.Since(start).Seconds(), "cases/s")
	}
}
