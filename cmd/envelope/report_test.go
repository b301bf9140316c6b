package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// reportDB imports the report's test data set through `cases import` into a
// new database and returns its path.
func reportDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "e.db")
	if code, _, errOut := cli(t, db, "", "cases", "import", "../../testdata/report/cases.ndjson"); code != 0 {
		t.Fatalf("cases import: %d %s", code, errOut)
	}
	return db
}

const reportAt = "2027-04-01T00:00:00Z"

func TestReportCommand(t *testing.T) {
	db := reportDB(t)

	// The CSV is the golden file of exporter/report: the same cases went in
	// through the import path instead of CreateCase.
	code, out, errOut := cli(t, db, "", "report", "--period", "2026-Q3", "--at", reportAt)
	want, _ := os.ReadFile("../../testdata/report/2026-Q3.csv")
	if code != 0 || out != string(want) {
		t.Fatalf("report csv: %d %s\n got %s\nwant %s", code, errOut, out, want)
	}

	code, out, _ = cli(t, db, "", "report", "--period", "2026-q3", "--format", "json", "--at", reportAt)
	var doc struct {
		Period           string `json:"period"`
		Rows             []struct{ Country string }
		NationalSecurity struct {
			Status string
			Rows   []struct{ Process, Requests, Accounts string }
		} `json:"national_security"`
		Trend []any
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil {
		t.Fatalf("report json: %d %v\n%s", code, err, out)
	}
	if doc.Period != "2026-Q3" || len(doc.Rows) != 6 || doc.NationalSecurity.Status != "published" ||
		doc.NationalSecurity.Rows[0].Requests != "0-499" || len(doc.Trend) != 8 {
		t.Errorf("report json: %+v", doc)
	}

	// A second before the 180 days are up, the bands are pending.
	code, out, _ = cli(t, db, "", "report", "--period", "2026-Q3", "--format", "csv", "--table", "national_security", "--at", "2027-03-29T23:59:59Z")
	if want := "period,country,process,requests,accounts,requests_min,requests_max,accounts_min,accounts_max\n" +
		"2026-Q3,US,nsl,pending,pending,,,,\n2026-Q3,US,fisa,pending,pending,,,,\n"; code != 0 || out != want {
		t.Errorf("national-security csv: %d\n got %q\nwant %q", code, out, want)
	}
}

func TestReportExplain(t *testing.T) {
	db := reportDB(t)
	code, out, errOut := cli(t, db, "", "report", "--period", "2026-Q3", "--explain", "us")
	if code != 0 || !strings.Contains(out, "Cases behind US in 2026-Q3") ||
		!strings.Contains(out, "12 cases: total_requests 10, total_accounts 13, percent_some_data 40.00, legal_process_requests 8, emergency_requests 2, preservation_requests 2") ||
		strings.Contains(out, "nsl") || strings.Contains(out, "fisa") {
		t.Errorf("explain: %d %s\n%s", code, errOut, out)
	}
	code, out, _ = cli(t, db, "", "report", "--period", "2026-Q3", "--explain", "GB", "--format", "csv")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 5 || lines[0] != "number,process_type,received_at,targets,produced,status,counted_in" {
		t.Errorf("explain csv: %d\n%s", code, out)
	}
}

func TestReportPDF(t *testing.T) {
	db := reportDB(t)
	path := filepath.Join(t.TempDir(), "q3.pdf")
	if code, out, errOut := cli(t, db, "", "report", "--period", "2026-Q3", "--format", "pdf", "--out", path, "--at", reportAt); code != 0 || out != "" {
		t.Fatalf("report pdf: %d %q %s", code, out, errOut)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(b), "%PDF-") {
		t.Fatalf("not a PDF: %v", err)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed")
	}
	text, err := exec.Command("pdftotext", path, "-").Output()
	if err != nil || !strings.Contains(string(text), "Transparency report 2026-Q3") || !strings.Contains(string(text), "Counting rules") {
		t.Errorf("pdftotext: %v\n%s", err, text)
	}
}

func TestReportErrors(t *testing.T) {
	db := reportDB(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--period", "2026-Q5"}, 1, "period"},
		{[]string{"--period", "2026-Q3", "--at", "tomorrow"}, 1, "at"},
		{[]string{"--period", "2026-Q3", "--explain", "UK"}, 1, "country"},
		{[]string{}, 2, "--period is required"},
		{[]string{"--period", "2026-Q3", "--format", "xml"}, 2, "--format"},
		{[]string{"--period", "2026-Q3", "--table", "secret"}, 2, "--table"},
		{[]string{"--period", "2026-Q3", "--table", "national_security", "--format", "pdf"}, 2, "--table"},
		{[]string{"--period", "2026-Q3", "--explain", "US", "--format", "pdf"}, 2, "--explain"},
	} {
		code, out, errOut := cli(t, db, "", append([]string{"report"}, c.args...)...)
		lastLine := errOut[strings.LastIndex(strings.TrimSuffix(errOut, "\n"), "\n")+1:]
		if code != c.code || out != "" || !strings.Contains(lastLine, c.want) || !strings.HasPrefix(lastLine, "envelope report: ") {
			t.Errorf("report %v: %d %q, want %d naming %s", c.args, code, errOut, c.code, c.want)
		}
	}
}
