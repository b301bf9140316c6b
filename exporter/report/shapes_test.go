package report_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/exporter/report"
)

// shapesDB is the test history with a fixed clock: every case is logged
// at loggedAt, so the times to acknowledge are fixed too.
var loggedAt = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)

func shapesDB(t *testing.T) *store.DB {
	db := storetest.SQLite(t)
	db.Now = func() time.Time { return loggedAt }
	seed(t, db)
	return db
}

func shapes(t *testing.T, db *store.DB, p string, band int64) *report.Shapes {
	t.Helper()
	s, err := report.GenerateShapes(ctx, db, period(t, p), at, report.ShapeOptions{BandSize: band, Service: "Example Messenger"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var shapeWriters = map[string]func(*report.Shapes, *bytes.Buffer) error{
	"google":     func(s *report.Shapes, b *bytes.Buffer) error { return s.WriteGoogle(b) },
	"google_nsl": func(s *report.Shapes, b *bytes.Buffer) error { return s.WriteGoogleNationalSecurity(b, cases.NSL) },
	"google_fisa": func(s *report.Shapes, b *bytes.Buffer) error {
		return s.WriteGoogleNationalSecurity(b, cases.FISA)
	},
	"meta":     func(s *report.Shapes, b *bytes.Buffer) error { return s.WriteMeta(b) },
	"dsa":      func(s *report.Shapes, b *bytes.Buffer) error { return s.WriteDSA(b) },
	"outcomes": func(s *report.Shapes, b *bytes.Buffer) error { return s.WriteOutcomes(b) },
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// Every shape over the test history is its golden file; each file's
// header is exactly the publisher's.
func TestGoldenShapes(t *testing.T) {
	db := shapesDB(t)
	headers := map[string][]string{"google": report.GoogleHeader, "google_nsl": report.GoogleNationalSecurityHeader,
		"google_fisa": report.GoogleNationalSecurityHeader, "meta": report.MetaHeader, "dsa": report.DSAHeader, "outcomes": report.OutcomesHeader}
	for _, p := range []string{"2026-Q3", "2026-H2"} {
		s := shapes(t, db, p, 500)
		for name, write := range shapeWriters {
			var b bytes.Buffer
			if err := write(s, &b); err != nil {
				t.Fatal(err)
			}
			golden(t, p+"_"+name+".csv", b.Bytes())
			recs := readCSV(t, b.Bytes())
			if !slices.Equal(recs[0], headers[name]) {
				t.Errorf("%s %s header: %q", p, name, recs[0])
			}
		}
	}
}

// Google's header, as published, parses our long file: the columns are
// where Google's readers look for them.
func TestGoogleLongParsesWithGooglesHeader(t *testing.T) {
	const google = "Period Ending,Country/Region,CLDR Territory Code,Legal Process,User Data Requests,Percentage disclosed,Accounts"
	var b bytes.Buffer
	shapes(t, shapesDB(t), "2026-Q3", 500).WriteGoogle(&b)
	recs := readCSV(t, b.Bytes())
	if strings.Join(recs[0], ",") != google {
		t.Fatalf("header %q", recs[0])
	}
	for _, r := range recs[1:] {
		if len(r) != 7 || r[0] != "2026-09-30" || len(r[2]) != 2 {
			t.Errorf("row %q", r)
		}
		if _, err := strconv.Atoi(r[4]); err != nil {
			t.Errorf("requests %q", r[4])
		}
		if pct, err := strconv.Atoi(r[5]); (err != nil || pct < 0 || pct > 100) && !(r[3] == report.LinePreservation && r[5] == "") {
			t.Errorf("percentage %q in %q", r[5], r)
		}
	}
}

// The long format adds up to the wide one: per country, the lines but
// All and preservation sum to All, which is Meta's Total Requests, and the
// preservation line is Meta's Preservation Requests; accounts likewise.
func TestLongSumsToWide(t *testing.T) {
	db := shapesDB(t)
	for _, p := range []string{"2026-Q3", "2026-H2"} {
		s := shapes(t, db, p, 500)
		var g, m bytes.Buffer
		s.WriteGoogle(&g)
		s.WriteMeta(&m)
		sum := map[string][4]int64{} // requests, accounts, all requests, all accounts
		pres := map[string]int64{}
		for _, r := range readCSV(t, g.Bytes())[1:] {
			n, _ := strconv.ParseInt(r[4], 10, 64)
			a, _ := strconv.ParseInt(r[6], 10, 64)
			x := sum[r[1]]
			switch r[3] {
			case report.LineAll:
				x[2], x[3] = x[2]+n, x[3]+a
			case report.LinePreservation:
				pres[r[1]] += n
			default:
				x[0], x[1] = x[0]+n, x[1]+a
			}
			sum[r[1]] = x
		}
		num := func(s string) int64 { n, _ := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64); return n }
		wide := readCSV(t, m.Bytes())
		if len(wide)-1 != len(sum) {
			t.Errorf("%s: %d wide rows, %d countries in long", p, len(wide)-1, len(sum))
		}
		for _, r := range wide[1:] {
			x := sum[r[0]]
			if x[0] != x[2] || x[1] != x[3] {
				t.Errorf("%s %s: lines sum to %d/%d, All says %d/%d", p, r[0], x[0], x[1], x[2], x[3])
			}
			if num(r[3]) != x[2] || num(r[5]) != x[3] || num(r[1]) != pres[r[0]] {
				t.Errorf("%s %s: wide %q, long %v preservation %d", p, r[0], r[:6], x, pres[r[0]])
			}
		}
	}
}

// National-security bands are numbers in the band size chosen; 1000 is
// the other size the law allows; others are refused.
func TestNationalSecurityBandSize(t *testing.T) {
	db := shapesDB(t)
	for band, want := range map[int64]string{500: "2026-09-30,500,999,0,499", 1000: "2026-09-30,0,999,0,999"} {
		var b bytes.Buffer
		shapes(t, db, "2026-Q3", band).WriteGoogleNationalSecurity(&b, cases.NSL)
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("band %d: %s", band, b.String())
		}
	}
	if _, err := report.GenerateShapes(ctx, db, period(t, "2026-Q3"), at, report.ShapeOptions{BandSize: 250}); cases.ErrorCode(err) != cases.EINVALID {
		t.Errorf("band 250: %v", err)
	}
	var b bytes.Buffer
	shapes(t, db, "2026-H2", 500).WriteGoogleNationalSecurity(&b, cases.NSL)
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("pending figures published: %s", b.String())
	}
}

// Outcomes are classified from what a case records.
func TestClassify(t *testing.T) {
	for f, want := range map[report.Facts]report.Outcome{
		{Status: cases.StatusRejected}:                          report.OutcomeRefused,
		{Status: cases.StatusProduced, Packages: 1, Records: 3}: report.OutcomeSomeData,
		{Status: cases.StatusProduced, Packages: 2, Records: 0}: report.OutcomeNoData,
		{Status: cases.StatusClosed, Produced: true}:            report.OutcomeSomeData,
		{Status: cases.StatusClosed}:                            report.OutcomeNoData,
		{Status: cases.StatusApproved}:                          report.OutcomeOpen,
	} {
		if got := report.Classify(f); got != want {
			t.Errorf("%+v: %s, want %s", f, got, want)
		}
	}
	_ = fmt.Sprint
}
