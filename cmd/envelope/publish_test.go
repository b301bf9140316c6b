package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `report publish` writes an accessible static page (charts as inline SVG
// with titles and descriptions, each followed by its table; no script)
// and the CSV downloads it links to, in the public shapes.
func TestReportPublish(t *testing.T) {
	db := reportDB(t)
	cli(t, db, "", "org", "load", "../../testdata/demo/org.json")
	out := filepath.Join(t.TempDir(), "site")
	code, stdout, errOut := cli(t, db, "", "report", "publish", "--period", "2026-Q3", "--out", out, "--at", reportAt)
	if code != 0 {
		t.Fatalf("publish: %d %s", code, errOut)
	}
	b, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{`<html lang="en">`, `role="img"`, "<title id=\"countries-t\">", "<desc id=", "<caption>", `scope="col"`,
		"Envelope Messaging, Inc.", "United States", "2026-Q3-google.csv", "2026-Q3-meta.csv", "2026-Q3-dsa.csv", "rejected or challenged"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("the page has a script")
	}
	google, _ := os.ReadFile(filepath.Join(out, "2026-Q3-google.csv"))
	want, _ := os.ReadFile("../../testdata/report/2026-Q3_google.csv")
	if string(google) != string(want) {
		t.Errorf("google.csv:\n%s", google)
	}
	if strings.Count(stdout, "\n") != 9 {
		t.Errorf("files: %s", stdout)
	}
	if code, _, _ := cli(t, db, "", "report", "publish", "--period", "2026-Q3"); code != 2 {
		t.Errorf("without --out: %d", code)
	}
}
