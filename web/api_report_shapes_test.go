package web

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// format=google|meta|dsa|outcomes answers the public shapes as CSV
// downloads: Google's long file is the golden one; bad tables and band
// sizes are refused naming the field.
func TestAPIReportShapes(t *testing.T) {
	db := storetest.SQLite(t)
	seedReportCases(t, db)
	f := newFixture(t, db)
	const path = "/api/v1/reports/2026-Q3?at=2027-04-01T00:00:00Z&format="
	w := f.do(cases.RoleAuditor, "GET", path+"google", nil, nil)
	want, _ := os.ReadFile("../testdata/report/2026-Q3_google.csv")
	if w.Code != 200 || w.Body.String() != string(want) || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
		!strings.Contains(w.Header().Get("Content-Disposition"), "2026-Q3-google.csv") {
		t.Fatalf("google: %d %s\n%s", w.Code, w.Header(), w.Body)
	}
	for _, format := range []string{"meta", "dsa", "outcomes"} {
		if w := f.do(cases.RoleAuditor, "GET", path+format, nil, nil); w.Code != 200 || strings.Count(w.Body.String(), "\n") < 2 {
			t.Errorf("%s: %d %s", format, w.Code, w.Body)
		}
	}
	if w := f.do(cases.RoleAuditor, "GET", path+"google&table=nsl&band_size=1000", nil, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "2026-09-30,0,999,") {
		t.Errorf("nsl band 1000: %d %s", w.Code, w.Body)
	}
	for q, field := range map[string]string{"google&band_size=7": "band_size", "meta&table=nsl": "table", "tiktok": "format"} {
		w := f.do(cases.RoleAuditor, "GET", path+q, nil, nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"`+field+`"`) {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
}
