package exporter

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
)

// benchPairs is the size of the benchmark's pen register.
const benchPairs = 1_000_000

// benchDB opens (building it on first use, then caching it under
// os.TempDir()) a SQLite database holding one approved pen register with a
// million collected pairs, seeded with direct SQL in big transactions.
func benchDB(b *testing.B) (*store.DB, *cases.Case, string) {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("envelope-export-bench-%d.db", benchPairs))
	if _, err := os.Stat(path); err != nil {
		if err := seedBenchDB(b, path); err != nil {
			b.Fatal(err)
		}
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	c, err := db.Case(ctx, "1")
	if err != nil {
		b.Fatal(err)
	}
	return db, c, path
}

func seedBenchDB(b *testing.B, path string) error {
	tmp := path + ".building"
	os.Remove(tmp)
	db, err := store.Open(ctx, tmp)
	if err != nil {
		return err
	}
	f := &fixture{t: b, db: db}
	f.set(T0)
	db.Now = func() time.Time { return time.Unix(0, f.clock.Load()).UTC() }
	f.meta = metadata.New(db)
	f.intake = f.user("ivy@example.org", cases.RoleIntake)
	f.reviewer = f.user("rex@example.org", cases.RoleReviewer)
	c := f.penRegister()
	start := T0.Add(time.Hour)
	const perTx = 50_000
	for done := 0; done < benchPairs; done += perTx {
		tx, err := db.Writer().Beginx()
		if err != nil {
			return err
		}
		st, err := tx.Prepare("INSERT INTO collected_pairs (case_id, at, from_account, to_account, kind, collected_at) VALUES (?, ?, ?, ?, ?, ?)")
		if err != nil {
			return err
		}
		kinds := metadata.MessageKinds
		for i := done; i < done+perTx; i++ {
			at := start.Add(time.Duration(i) * 2 * time.Second)
			peer := "+1415555" + strconv.Itoa(1000+i%9000)
			from, to := phone, peer
			if i%2 == 1 {
				from, to = peer, phone
			}
			if _, err := st.Exec(c.ID, at, from, to, kinds[i%len(kinds)], at); err != nil {
				return err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	db.Close()
	return os.Rename(tmp, path)
}

// peakHeap samples the heap while fn runs and returns the most it held.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// BenchmarkRecordsMillionPairs times writing message_pairs.csv and .json
// for a million pairs against sqlite3 -csv dumping the same rows. The two
// run in turn, each iteration one of each, and the best time of each is
// compared: on a shared machine the best run is the one least slowed by
// others, for both sides alike. Its peak heap and the process's peak
// resident memory are reported too.
//
//	go test ./exporter -run '^$' -bench MillionPairs -benchtime 3x
func BenchmarkRecordsMillionPairs(b *testing.B) {
	db, c, path := benchDB(b)
	bl := &Builder{Meta: metadata.New(db), PDFRows: DefaultPDFRows}
	p := &Production{Case: c, Seq: 1, LastPairID: 1 << 62, At: T0.Add(365 * 24 * time.Hour)}
	a, _ := c.Decision.AllowedFor(cases.MessagePairs)
	b.ResetTimer()
	best, sqlite3 := time.Duration(1<<62), time.Duration(1<<62)
	bestCPU, sqlite3CPU := time.Duration(1<<62), time.Duration(1<<62)
	var peak, rss uint64
	for i := 0; i < b.N; i++ {
		wall, cpu := sqliteDumpTime(b, path, c.ID)
		sqlite3, sqlite3CPU = min(sqlite3, wall), min(sqlite3CPU, cpu)
		// Each export's work directory is removed once it is done, as
		// Build removes its own: keeping the earlier exports' 140 MB of
		// files would make every export write into page cache the machine
		// has not used before, which on this VM costs a host page fault
		// per page inside the write system call (perf of a write loop:
		// 84% in copy_folio_from_iter_atomic, 0.35 s of system time per
		// 140 MB when the files are kept against 0.02-0.03 s when they
		// are removed).
		work := b.TempDir()
		resetPeakRSS()
		start, startCPU := time.Now(), processCPU()
		var res *categoryResult
		var err error
		peak = max(peak, peakHeap(func() { res, _, err = bl.category(ctx, work, p, a) }))
		best = min(best, time.Since(start))
		bestCPU = min(bestCPU, processCPU()-startCPU)
		rss = max(rss, peakRSS())
		if err != nil || res.summary.Records != benchPairs {
			b.Fatalf("exported %+v: %v", res, err)
		}
		if err := os.RemoveAll(work); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(best.Seconds(), "s/csv+json")
	b.ReportMetric(sqlite3.Seconds(), "s/sqlite3-csv")
	b.ReportMetric(best.Seconds()/sqlite3.Seconds(), "x-sqlite3")
	// The CPU times say what the wall times cannot on a loaded machine:
	// how much work each side did (the export's on all its goroutines).
	b.ReportMetric(bestCPU.Seconds(), "cpu-s/csv+json")
	b.ReportMetric(sqlite3CPU.Seconds(), "cpu-s/sqlite3-csv")
	b.ReportMetric(bestCPU.Seconds()/sqlite3CPU.Seconds(), "cpu-x-sqlite3")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	if rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	}
}

// resetPeakRSS starts the kernel's count of the process's peak resident
// memory over (Linux; elsewhere peakRSS reports 0).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's peak resident memory since resetPeakRSS, in
// bytes (VmHWM).
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sqliteDumpTime times the sqlite3 shell dumping the pairs as CSV, wall
// and CPU (user and system), or skips without the shell.
func sqliteDumpTime(b *testing.B, path string, caseID int64) (wall, cpu time.Duration) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		b.Skip("sqlite3 is not installed")
	}
	cmd := exec.Command("sqlite3", "-csv", path, fmt.Sprintf(
		"SELECT at, from_account, to_account, kind FROM collected_pairs WHERE case_id = %d ORDER BY case_id, at, from_account, to_account, kind", caseID))
	out, _ := os.Create(os.DevNull)
	defer out.Close()
	cmd.Stdout = out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// BenchmarkPackageMillionPairs times a whole package (records, PDF, zip,
// signature) of a million pairs, with its peak heap.
//
//	go test ./exporter -run '^$' -bench PackageMillionPairs -benchtime 1x
func BenchmarkPackageMillionPairs(b *testing.B) {
	db, c, _ := benchDB(b)
	signer, err := LoadOrCreateKey(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	bl := &Builder{Meta: metadata.New(db), Signer: signer}
	p := &Production{Case: c, Seq: 1, LastPairID: 1 << 62, At: T0.Add(365 * 24 * time.Hour)}
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		out, _ := os.Create(filepath.Join(b.TempDir(), "p.zip"))
		peak = max(peak, peakHeap(func() {
			if _, err := bl.Build(ctx, p, out); err != nil {
				b.Fatal(err)
			}
		}))
		st, _ := out.Stat()
		b.ReportMetric(float64(st.Size())/(1<<20), "zip-MB")
		out.Close()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkPDFRows measures the PDF's table rendering in rows a second.
//
//	go test ./exporter -run '^$' -bench PDFRows
func BenchmarkPDFRows(b *testing.B) {
	const rows = 20_000
	t := &table{summary: CategorySummary{Category: cases.MessagePairs, Rule: "US-PEN-REGISTER", Records: rows,
		Files: []string{"records/message_pairs.csv", "records/message_pairs.json"}}, columns: pairColumns}
	for i := range rows {
		t.rows = append(t.rows, []string{T0.Add(time.Duration(i) * time.Second).Format(time.RFC3339), phone, "+1415555" + strconv.Itoa(1000+i%9000), "text"})
	}
	c := &cases.Case{Number: "LR-2026-000001", Request: cases.Request{ReceivedAt: T0, Targets: []cases.Target{{Kind: cases.TargetPhone, Value: phone}}}}
	m := &Manifest{Decision: &cases.Decision{}, Categories: []CategorySummary{t.summary}}
	bl := &Builder{}
	p := &Production{Case: c, Seq: 1, At: T0}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := bl.writePDF(b.TempDir(), p, m, []*table{t}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/time.Since(start).Seconds(), "rows/s")
}
