package report_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/exporter/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/report")

var ctx = context.Background()

const testdata = "../../testdata/report"

// at is the generation time of the golden reports: 2026-Q3 ended
// 2026-10-01, so its national-security figures are due from 2027-03-30;
// those of 2026-H2 (ended 2027-01-01) are still pending.
var at = time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)

func period(t *testing.T, s string) report.Period {
	t.Helper()
	p, err := report.ParsePeriod(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seed loads testdata/report/cases.ndjson (requests in the import format:
// a request plus status, produced and closed_at) through CreateCase, then
// adds the national-security bulk that reaches the band edges of 2026-Q3:
// 500 nsl requests naming 499 accounts, 499 fisa requests naming 500.
func seed(t *testing.T, db *store.DB) {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, "cases.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatalf("cases.ndjson:%d: %v", line, err)
		}
		var nc store.NewCase
		json.Unmarshal(fields["status"], &nc.Status)
		json.Unmarshal(fields["produced"], &nc.Produced)
		if raw, ok := fields["closed_at"]; ok {
			json.Unmarshal(raw, &nc.ClosedAt)
		}
		delete(fields, "status")
		delete(fields, "produced")
		delete(fields, "closed_at")
		b, _ := json.Marshal(fields)
		if nc.Request, err = cases.ParseRequest(b); err != nil {
			t.Fatalf("cases.ndjson:%d: %v", line, err)
		}
		if _, err := db.CreateCase(ctx, "test", nc); err != nil {
			t.Fatalf("cases.ndjson:%d: %v", line, err)
		}
	}
	q3 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	// cases.ndjson has 2 nsl (2 accounts) and 1 fisa (1 account) in 2026-Q3.
	insertBulk(t, db, "US", cases.NSL, q3, 497, 1)
	insertBulk(t, db, "US", cases.NSL, q3, 1, 0)
	insertBulk(t, db, "US", cases.FISA, q3, 497, 1)
	insertBulk(t, db, "US", cases.FISA, q3, 1, 2)
}

// insertBulk inserts n cases straight into the cases table in one
// transaction: CreateCase's audit trail would make band-sized volumes slow,
// and the report reads only the cases table.
func insertBulk(t testing.TB, db *store.DB, country string, pt cases.ProcessType, receivedAt time.Time, n, targets int) {
	t.Helper()
	w := db.Writer()
	tx, err := w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	name := "Bulk test agency"
	var agency int64
	if err := tx.GetContext(ctx, &agency, tx.Rebind("SELECT id FROM agencies WHERE name = ? AND country = ?"), name, country); err != nil {
		if err := tx.GetContext(ctx, &agency, tx.Rebind("INSERT INTO agencies (name, country) VALUES (?, ?) RETURNING id"), name, country); err != nil {
			t.Fatal(err)
		}
	}
	stmt, err := tx.PreparexContext(ctx, tx.Rebind(`INSERT INTO cases (number, status, agency_id, agency_country, process_type,
		reference, received_at, target_count, request_json, produced, created_by, created_at, updated_at)
		VALUES (?, 'received', ?, ?, ?, '', ?, ?, '{}', FALSE, 'test', ?, ?)`))
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for i := range n {
		number := fmt.Sprintf("BULK-%s-%s-%d-%d-%d", country, pt, receivedAt.Unix(), targets, i)
		if _, err := stmt.ExecContext(ctx, number, agency, country, pt, receivedAt, targets, receivedAt, receivedAt); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func generate(t *testing.T, db *store.DB, p string, at time.Time) *report.Report {
	t.Helper()
	r, err := report.Generate(ctx, db, period(t, p), at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// golden compares got with testdata/report/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(testdata, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func render(t *testing.T, write func(w *bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReport checks the golden CSV and JSON on both engines, then the
// figures the goldens hold against the counting rules, worked out by hand
// from cases.ndjson (see testdata/report/README.md).
func TestReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		for _, g := range []struct {
			period string
			at     time.Time
		}{{"2026-Q3", at}, {"2026-H2", at}, {"2026-Q2", at}} {
			r := generate(t, db, g.period, g.at)
			golden(t, g.period+".csv", render(t, func(w *bytes.Buffer) error { return r.WriteCSV(w) }))
			golden(t, g.period+".json", render(t, func(w *bytes.Buffer) error { return r.WriteJSON(w) }))
			golden(t, g.period+"_national_security.csv", render(t, func(w *bytes.Buffer) error { return r.WriteNationalSecurityCSV(w) }))
		}
		list, err := report.Explain(ctx, db, period(t, "2026-Q3"), "us")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(list, "", "  ")
		golden(t, "2026-Q3_explain_US.json", append(b, '\n'))

		checkByHand(t, generate(t, db, "2026-Q3", at))
	})
}

// row returns the row of country, failing if there is none.
func row(t *testing.T, r *report.Report, country string) report.Row {
	t.Helper()
	for _, row := range r.Rows {
		if row.Country == country {
			return row
		}
	}
	t.Fatalf("%s: no row for %s", r.Period, country)
	return report.Row{}
}

func checkCounts(t *testing.T, what string, got report.Counts, requests, accounts, produced int64, percent string) {
	t.Helper()
	if got.Requests != requests || got.Accounts != accounts || got.Produced != produced || got.Percent().String() != percent {
		t.Errorf("%s = %d requests, %d accounts, %d produced, %s%%; want %d, %d, %d, %s%%",
			what, got.Requests, got.Accounts, got.Produced, got.Percent(), requests, accounts, produced, percent)
	}
}

// checkByHand holds the 2026-Q3 figures worked out from the rules.
func checkByHand(t *testing.T, r *report.Report) {
	t.Helper()
	var countries []string
	for _, row := range r.Rows {
		countries = append(countries, row.Country)
	}
	// DE sent only preservation requests and still has a row; nsl and fisa
	// (all US) add no row; BR's case at 01:30+02:00 on Oct 1 is Sep 30 UTC.
	if want := []string{"BR", "DE", "FR", "GB", "IN", "US"}; !slices.Equal(countries, want) {
		t.Errorf("countries %v, want %v", countries, want)
	}
	us := row(t, r, "US")
	// Legal process: 3 subpoenas (one at 00:00:00 on Jul 1, one at 23:59:59
	// on Sep 30; the one at 01:59:59+02:00 on Jul 1 is Q2 in UTC), 2 2703(d)
	// orders (one produced without targets), a warrant, a pen register and a
	// title III order. Produced: the first subpoena (status produced), the
	// imported closed 2703(d) (produced flag) and the one without targets.
	checkCounts(t, "US legal process", us.LegalProcess, 8, 10, 3, "37.50")
	checkCounts(t, "US emergency", us.Emergency, 2, 3, 1, "50.00")
	checkCounts(t, "US total", us.Total, 10, 13, 4, "40.00")
	checkCounts(t, "US preservation", us.Preservation, 2, 3, 0, "0.00")
	for pt, n := range map[cases.ProcessType]int64{cases.Subpoena: 3, cases.CourtOrder2703d: 2, cases.SearchWarrant: 1,
		cases.PenRegister: 1, cases.TitleIII: 1, cases.ForeignCourtOrder: 0, cases.ForeignPoliceRequest: 0} {
		if got := us.Process(pt); got != n {
			t.Errorf("US %s = %d, want %d", pt, got, n)
		}
	}
	// GB: a foreign order produced without targets counts as produced.
	checkCounts(t, "GB legal process", row(t, r, "GB").LegalProcess, 3, 3, 2, "66.67")
	checkCounts(t, "GB total", row(t, r, "GB").Total, 4, 4, 3, "75.00")
	// IN: a rejected request imported with produced=true produced nothing.
	checkCounts(t, "IN total", row(t, r, "IN").Total, 2, 2, 1, "50.00")
	// DE: no requests in the total, so 0.00 percent; preservation apart.
	checkCounts(t, "DE total", row(t, r, "DE").Total, 0, 0, 0, "0.00")
	checkCounts(t, "DE preservation", row(t, r, "DE").Preservation, 1, 3, 0, "0.00")
	checkCounts(t, "FR emergency", row(t, r, "FR").Emergency, 1, 1, 1, "100.00")
	checkCounts(t, "BR total", row(t, r, "BR").Total, 1, 2, 1, "100.00")
	// Totals: 18 requests, 10 with data = 55.56% (55.555... rounded).
	checkCounts(t, "totals", r.Totals.Total, 18, 22, 10, "55.56")
	checkCounts(t, "legal-process totals", r.Totals.LegalProcess, 14, 17, 7, "50.00")
	checkCounts(t, "emergency totals", r.Totals.Emergency, 4, 5, 3, "75.00")
	checkCounts(t, "preservation totals", r.Totals.Preservation, 4, 7, 0, "0.00")

	// 500 nsl / 499 accounts, 499 fisa / 500 accounts: both band edges.
	ns := r.NationalSecurity
	n := func(v int64) *int64 { return &v }
	want := []report.BandsRow{{Process: cases.NSL, Requests: "500-999", Accounts: "0-499", RequestsMin: n(500), RequestsMax: n(999), AccountsMin: n(0), AccountsMax: n(499)},
		{Process: cases.FISA, Requests: "0-499", Accounts: "500-999", RequestsMin: n(0), RequestsMax: n(499), AccountsMin: n(500), AccountsMax: n(999)}}
	same := func(a, b report.BandsRow) bool {
		return a.Process == b.Process && a.Requests == b.Requests && a.Accounts == b.Accounts && *a.RequestsMin == *b.RequestsMin &&
			*a.RequestsMax == *b.RequestsMax && *a.AccountsMin == *b.AccountsMin && *a.AccountsMax == *b.AccountsMax
	}
	if ns.Status != "published" || !slices.EqualFunc(ns.Rows, want, same) {
		t.Errorf("national security = %s %v, want published %v", ns.Status, ns.Rows, want)
	}

	// Previous period 2026-Q2: 4 subpoenas and GB's order... 5 requests.
	prev := r.Previous()
	if prev.Period.String() != "2026-Q2" || prev.Totals.Total.Requests != 5 || prev.Totals.Total.Percent().String() != "60.00" {
		t.Errorf("previous = %s %d requests %s%%, want 2026-Q2 5 60.00%%", prev.Period, prev.Totals.Total.Requests, prev.Totals.Total.Percent())
	}
	changes := map[string]string{}
	for _, c := range r.Changes() {
		changes[c.Measure] = c.Change
	}
	for m, want := range map[string]string{"total_requests": "+260%", "subpoena": "0%", "court_order_2703d": "n/a", "emergency_requests": "+300%", "legal_process_requests": "+250%"} {
		if changes[m] != want {
			t.Errorf("change of %s = %q, want %q", m, changes[m], want)
		}
	}
	// Trend 2024-Q4 ... 2026-Q3: the 2024-Q3 case falls outside; its last
	// point is the report's own totals.
	var trend []int64
	for _, p := range r.Trend {
		trend = append(trend, p.Totals.Total.Requests)
	}
	if want := []int64{1, 0, 0, 0, 1, 0, 5, 18}; !slices.Equal(trend, want) || r.Trend[0].Period.String() != "2024-Q4" {
		t.Errorf("trend from %s = %v, want from 2024-Q4 %v", r.Trend[0].Period, trend, want)
	}
}

// A half year's report is the sum of its two quarters, row by row.
func TestHalfYearIsSumOfQuarters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		for _, h := range []string{"2026-H1", "2026-H2"} {
			half := generate(t, db, h, at)
			p := half.Period
			q1 := generate(t, db, fmt.Sprintf("%d-Q%d", p.Year, 2*p.N-1), at)
			q2 := generate(t, db, fmt.Sprintf("%d-Q%d", p.Year, 2*p.N), at)
			sums := map[string]report.Row{}
			for _, r := range append(slices.Clone(q1.Rows), q2.Rows...) {
				s := sums[r.Country]
				s = report.Sum([]report.Row{s, r})
				s.Country = r.Country
				sums[r.Country] = s
			}
			if len(sums) != len(half.Rows) {
				t.Errorf("%s has %d rows, its quarters %d countries", h, len(half.Rows), len(sums))
			}
			for _, r := range half.Rows {
				if !equalRows(r, sums[r.Country]) {
					t.Errorf("%s %s = %+v, sum of quarters %+v", h, r.Country, r, sums[r.Country])
				}
			}
			if !equalRows(half.Totals, report.Sum([]report.Row{q1.Totals, q2.Totals})) {
				t.Errorf("%s totals %+v are not the sum of its quarters'", h, half.Totals)
			}
		}
	})
}

func equalRows(a, b report.Row) bool {
	return a.Country == b.Country && a.Total == b.Total && a.LegalProcess == b.LegalProcess &&
		a.Emergency == b.Emergency && a.Preservation == b.Preservation && slices.Equal(a.ByProcess, b.ByProcess)
}

// National-security figures are pending until 180 days after the period
// ends, to the second, and a pending report holds no trace of them.
func TestNationalSecurityDelay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		due := time.Date(2027, 3, 30, 0, 0, 0, 0, time.UTC) // 2026-10-01 + 180 days
		early := generate(t, db, "2026-Q3", due.Add(-time.Second))
		if early.NationalSecurity.Status != report.Pending {
			t.Fatalf("a second before the delay: %s", early.NationalSecurity.Status)
		}
		var out bytes.Buffer
		early.WriteJSON(&out)
		early.WriteNationalSecurityCSV(&out)
		if s := out.String(); strings.Contains(s, "500-999") || strings.Contains(s, "0-499") {
			t.Errorf("a pending report shows bands:\n%s", s)
		}
		for _, b := range early.NationalSecurity.Rows {
			if b.Requests != report.Pending || b.Accounts != report.Pending {
				t.Errorf("pending row %+v", b)
			}
		}
		if on := generate(t, db, "2026-Q3", due); on.NationalSecurity.Status != "published" {
			t.Errorf("at the delay: %s", on.NationalSecurity.Status)
		}
		// A period without any: published as the lowest band.
		zero := generate(t, db, "2026-Q1", at).NationalSecurity
		if zero.Rows[0].Requests != "0-499" || zero.Rows[1].Accounts != "0-499" {
			t.Errorf("no national-security process: %+v", zero.Rows)
		}
	})
}

// National-security process never reaches a country row, a total or an
// explanation, even from a country that sent nothing else.
func TestNationalSecurityNotInRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		q := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
		insertBulk(t, db, "US", cases.NSL, q, 3, 1)
		insertBulk(t, db, "US", cases.FISA, q, 2, 4)
		r := generate(t, db, "2025-Q1", at)
		if len(r.Rows) != 0 || r.Totals.Total.Requests != 0 || r.Totals.Total.Accounts != 0 {
			t.Errorf("national-security process counted in rows: %+v totals %+v", r.Rows, r.Totals)
		}
		if list, err := report.Explain(ctx, db, r.Period, "US"); err != nil || len(list) != 0 {
			t.Errorf("explain lists national-security cases: %v %v", list, err)
		}
		var csv bytes.Buffer
		r.WriteCSV(&csv)
		if want := strings.Join(report.CSVHeader(), ",") + "\n"; csv.String() != want {
			t.Errorf("CSV = %q, want the header alone", csv.String())
		}
	})
}

// Explain lists exactly the cases a row counts: adding them up gives the row.
func TestExplainAddsUpToRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		for _, p := range []string{"2026-Q2", "2026-Q3", "2026-H2"} {
			r := generate(t, db, p, at)
			for _, want := range r.Rows {
				list, err := report.Explain(ctx, db, r.Period, want.Country)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range list {
					if c.ReceivedAt.Before(r.Period.Start()) || !c.ReceivedAt.Before(r.Period.End()) {
						t.Errorf("%s %s: case %s received %s is outside the period", p, want.Country, c.Number, c.ReceivedAt)
					}
				}
				if got := report.ExplainRow(want.Country, list); !equalRows(got, want) {
					t.Errorf("%s %s: explained cases add up to %+v, the row is %+v", p, want.Country, got, want)
				}
			}
		}
		_, err := report.Explain(ctx, db, period(t, "2026-Q3"), "UK")
		if cases.ErrorCode(err) != cases.EINVALID || cases.ErrorFields(err)["country"] == "" {
			t.Errorf("explain UK: %v, want an invalid country", err)
		}
	})
}

// The PDF reads back, through pdftotext, with the period, every country,
// the totals, the bands and the counting rules.
func TestPDF(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		for _, g := range []struct {
			period string
			want   []string
		}{
			{"2026-Q3", []string{"Transparency report 2026-Q3", "2026-07-01 to 2026-09-30", "Total requests", "55.56%",
				"Change against 2026-Q2", "+260%", "500-999", "0-499", "Trend over the last 8 periods", "2024-Q4"}},
			{"2026-H2", []string{"Transparency report 2026-H2", "Change against 2026-H1", "pending, due 2027-06-30"}},
		} {
			r := generate(t, db, g.period, at)
			text := pdfText(t, r)
			want := append(g.want, "Counting rules", "bands of 500", "not in the total", "Total")
			for _, row := range r.Rows {
				want = append(want, row.Country)
			}
			want = append(want, fmt.Sprint(r.Totals.Total.Requests), fmt.Sprint(r.Totals.Total.Accounts))
			for _, rule := range report.CountingRules {
				want = append(want, strings.Fields(rule)[0]+" "+strings.Fields(rule)[1])
			}
			for _, s := range want {
				if !strings.Contains(text, s) {
					t.Errorf("%s PDF lacks %q", g.period, s)
				}
			}
			if t.Failed() {
				t.Logf("pdftotext:\n%s", text)
			}
		}
	})
}

// pdfText renders r as a PDF and reads it back with pdftotext.
func pdfText(t testing.TB, r *report.Report) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.pdf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WritePDF(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// -layout keeps columns apart with runs of spaces; collapse them so the
	// checks read as sentences.
	return strings.Join(strings.Fields(string(out)), " ")
}

// The same report renders to the same bytes: the PDF carries the
// generation time, not the clock's.
func TestPDFDeterministic(t *testing.T) {
	db := storetest.SQLite(t)
	seed(t, db)
	r := generate(t, db, "2026-Q3", at)
	a := render(t, func(w *bytes.Buffer) error { return r.WritePDF(w) })
	b := render(t, func(w *bytes.Buffer) error { return r.WritePDF(w) })
	if !bytes.Equal(a, b) || !bytes.HasPrefix(a, []byte("%PDF-")) {
		t.Error("two renderings of one report differ")
	}
}
