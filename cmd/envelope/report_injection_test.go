package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"envelope/exporter/csvsafe"
	"envelope/exporter/report"
)

// The CSV listing behind a report row neutralises a case number or status
// a spreadsheet would run as a formula.
func TestExplainCSVCannotRunFormulas(t *testing.T) {
	var b bytes.Buffer
	list := []report.ExplainedCase{{Number: `=HYPERLINK("http://evil.example")`, ProcessType: "+subpoena", Status: "@x"}}
	if err := writeExplain(&b, reportOptions{format: "csv", explain: "US"}, list); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%q %v", recs, err)
	}
	for _, cell := range recs[1] {
		if csvsafe.Dangerous(cell) {
			t.Errorf("cell %q would run as a formula", cell)
		}
	}
	if recs[1][0] != "'"+list[0].Number {
		t.Errorf("number written as %q", recs[1][0])
	}
}

// The public shapes from the CLI: Google long and Meta wide are the golden
// files of exporter/report (the same history, imported); a bad band size
// or table is refused.
func TestReportShapesCommand(t *testing.T) {
	db := reportDB(t)
	for _, f := range []string{"google", "meta"} {
		code, out, errOut := cli(t, db, "", "report", "--period", "2026-Q3", "--format", f, "--at", reportAt)
		want, _ := os.ReadFile("../../testdata/report/2026-Q3_" + f + ".csv")
		if code != 0 || out != string(want) {
			t.Errorf("--format %s: %d %s\n got %s\nwant %s", f, code, errOut, out, want)
		}
	}
	if code, out, _ := cli(t, db, "", "report", "--period", "2026-Q3", "--format", "dsa", "--at", reportAt); code != 0 || !strings.HasPrefix(out, "Applicability,Service,Reporting period") {
		t.Errorf("dsa: %d %s", code, out)
	}
	if code, _, errOut := cli(t, db, "", "report", "--period", "2026-Q3", "--format", "google", "--band-size", "250"); code != 1 || !strings.Contains(errOut, "band_size") {
		t.Errorf("band 250: %d %s", code, errOut)
	}
	if code, _, _ := cli(t, db, "", "report", "--period", "2026-Q3", "--format", "meta", "--table", "nsl"); code != 2 {
		t.Errorf("meta --table nsl: %d", code)
	}
}
