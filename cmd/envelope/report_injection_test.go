package main

import (
	"bytes"
	"encoding/csv"
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
