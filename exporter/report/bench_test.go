package report_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter/report"
)

// benchCases is the size of the benchmark database.
const benchCases = 1_000_000

// The benchmark database spans 2025-01-01 to 2027-01-01: eight quarters, so
// the PDF of 2026-Q4 reads every case for its trend.
var benchFrom, benchTo = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// benchSchema names the case schema the cached database was seeded with;
// bump it when a migration changes the cases table, to seed afresh.
const benchSchema = "v2"

// benchPath is where the seeded database is cached between runs: seeding
// takes a while, and the benchmarks only read it.
func benchPath() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("envelope-report-bench-%d-%s.db", benchCases, benchSchema))
}

// benchDB opens the cached benchmark database, seeding it on first use.
func benchDB(b *testing.B) *store.DB {
	b.Helper()
	path := benchPath()
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	if err := db.Reader().GetContext(ctx, &n, "SELECT COUNT(*) FROM cases"); err != nil {
		b.Fatal(err)
	}
	if n != benchCases {
		db.Close()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		if db, err = store.Open(ctx, path); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		seedBench(b, db)
		b.Logf("seeded %d cases into %s in %s", benchCases, path, time.Since(start).Round(time.Millisecond))
	}
	b.Cleanup(func() { db.Close() })
	return db
}

var benchCountries = []string{"US", "US", "US", "US", "US", "US", "IN", "IN", "BR", "BR", "GB", "GB", "DE", "DE", "FR", "FR",
	"AR", "AU", "AT", "BE", "CA", "CL", "CO", "CZ", "DK", "EG", "ES", "FI", "GR", "HU", "ID", "IE", "IL", "IT", "JP", "KE",
	"KR", "MX", "MY", "NG", "NL", "NO", "NZ", "PE", "PH", "PK", "PL", "PT", "RO", "SE", "SG", "TH", "TR", "UA", "ZA"}

var (
	usTypes = []cases.ProcessType{cases.Subpoena, cases.Subpoena, cases.Subpoena, cases.CourtOrder2703d, cases.CourtOrder2703d,
		cases.SearchWarrant, cases.SearchWarrant, cases.PenRegister, cases.TitleIII, cases.Emergency, cases.Emergency,
		cases.Preservation, cases.Preservation, cases.NSL, cases.FISA}
	foreignTypes = []cases.ProcessType{cases.ForeignCourtOrder, cases.ForeignCourtOrder, cases.ForeignPoliceRequest,
		cases.ForeignPoliceRequest, cases.Emergency, cases.Preservation}
)

// seedBench inserts benchCases cases in received order (as a tracker fills
// up) with bulk INSERTs in transactions of 100,000. Only the columns the
// report reads are realistic; the request JSON is a stub.
func seedBench(b *testing.B, db *store.DB) {
	w := db.Writer()
	// Durability is pointless for a throw-away benchmark database; this
	// makes each commit cheap. The writer pool has one connection.
	if _, err := w.ExecContext(ctx, "PRAGMA synchronous = OFF"); err != nil {
		b.Fatal(err)
	}
	agencies := map[string]int64{}
	for _, c := range benchCountries {
		if _, ok := agencies[c]; ok {
			continue
		}
		var id int64
		if err := w.GetContext(ctx, &id, "INSERT INTO agencies (name, country) VALUES (?, ?) RETURNING id", "Agency of "+c, c); err != nil {
			b.Fatal(err)
		}
		agencies[c] = id
	}
	rng := rand.New(rand.NewPCG(6, 2026))
	step := benchTo.Sub(benchFrom) / benchCases
	statuses := []cases.Status{cases.StatusReceived, cases.StatusApproved, cases.StatusRejected, cases.StatusProduced, cases.StatusClosed}
	const batch = 100_000
	for start := 0; start < benchCases; start += batch {
		tx, err := w.BeginTxx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.PreparexContext(ctx, `INSERT INTO cases (number, status, agency_id, agency_country, process_type,
			reference, received_at, target_count, request_json, produced, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, '', ?, ?, '{}', ?, 'bench', ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for i := start; i < min(start+batch, benchCases); i++ {
			at := benchFrom.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step)))).Truncate(time.Second)
			country := benchCountries[rng.IntN(len(benchCountries))]
			types := foreignTypes
			if country == "US" {
				types = usTypes
			}
			pt := types[rng.IntN(len(types))]
			status := statuses[rng.IntN(len(statuses))]
			produced := status == cases.StatusProduced || (status == cases.StatusClosed && rng.IntN(4) > 0)
			if _, err := stmt.ExecContext(ctx, fmt.Sprintf("LR-%d-%07d", at.Year(), i+1), status, agencies[country], country, pt,
				at, rng.IntN(4), produced, at, at); err != nil {
				b.Fatal(err)
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTally runs the tally of a quarter and of a half year over the
// 1,000,000-case database, then the very same SQL text through the sqlite3
// CLI (.timer on), and reports both and their ratio; the target is a ratio
// of at most 2.
func BenchmarkTally(b *testing.B) {
	db := benchDB(b)
	for _, name := range []string{"2026-Q3", "2026-H2"} {
		b.Run(name, func(b *testing.B) {
			p, _ := report.ParsePeriod(name)
			var rows []report.Row
			for b.Loop() {
				var err error
				if rows, err = report.Tally(ctx, db, p); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			total := report.Sum(rows).Total.Requests + report.Sum(rows).Preservation.Requests
			goBest := best(5, func() time.Duration {
				start := time.Now()
				if _, err := report.Tally(ctx, db, p); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			})
			cliBest := best(5, func() time.Duration { return sqliteCLI(b, benchPath(), cliSQL(p)) })
			ratio := float64(goBest) / float64(cliBest)
			b.ReportMetric(float64(goBest.Microseconds())/1000, "go-ms")
			b.ReportMetric(float64(cliBest.Microseconds())/1000, "sqlite3-ms")
			b.ReportMetric(ratio, "x-sqlite3")
			b.ReportMetric(float64(total), "counted-cases")
			if ratio > 2 {
				b.Errorf("the tally took %s, %.2fx the sqlite3 CLI's %s (target: at most 2x)", goBest, ratio, cliBest)
			}
		})
	}
}

// BenchmarkPDF generates the 2026-Q4 report (whose trend covers all eight
// quarters, so every case is read) and renders its PDF; target: under 2 s.
func BenchmarkPDF(b *testing.B) {
	db := benchDB(b)
	p, _ := report.ParsePeriod("2026-Q4")
	at := time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)
	var size int
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		r, err := report.Generate(ctx, db, p, at)
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := r.WritePDF(&buf); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(size), "pdf-bytes")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
	if worst > 2*time.Second {
		b.Errorf("the PDF took %s (target: under 2 s)", worst)
	}
}

func best(n int, f func() time.Duration) time.Duration {
	times := make([]time.Duration, n)
	for i := range times {
		times[i] = f()
	}
	return slices.Min(times)
}

// cliSQL is TallySQL with the period's bounds written as the SQLite driver
// binds a time.Time, so that the CLI runs exactly the query envelope runs.
func cliSQL(p report.Period) string {
	q := report.TallySQL()
	for _, t := range []time.Time{p.Start(), p.End()} {
		q = strings.Replace(q, "?", "'"+t.Format("2006-01-02 15:04:05.999999999-07:00")+"'", 1)
	}
	return q + ";"
}

var runTime = regexp.MustCompile(`Run Time: real ([0-9.]+)`)

// sqliteCLI runs query in the sqlite3 CLI and returns the time the CLI
// itself reports for it, leaving out process start-up and output.
func sqliteCLI(b *testing.B, path, query string) time.Duration {
	b.Helper()
	cmd := exec.Command("sqlite3", "-readonly", path)
	cmd.Stdin = strings.NewReader(".output /dev/null\n.timer on\n" + query + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Skipf("sqlite3 CLI: %v: %s", err, out)
	}
	m := runTime.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no timing in the sqlite3 output: %s", out)
	}
	s, _ := strconv.ParseFloat(string(m[1]), 64)
	return time.Duration(s * float64(time.Second))
}
