package web

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// seedReportCases loads the transparency report's test data set
// (testdata/report/cases.ndjson: requests plus status, produced, closed_at).
func seedReportCases(t *testing.T, db *store.DB) {
	t.Helper()
	file, err := os.Open("../testdata/report/cases.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatal(err)
		}
		var nc store.NewCase
		json.Unmarshal(fields["status"], &nc.Status)
		json.Unmarshal(fields["produced"], &nc.Produced)
		for _, k := range []string{"status", "produced", "closed_at"} {
			delete(fields, k)
		}
		b, _ := json.Marshal(fields)
		if nc.Request, err = cases.ParseRequest(b); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateCase(ctx, "test", nc); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAPIReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seedReportCases(t, db)
		f := newFixture(t, db)
		const path = "/api/v1/reports/2026-Q3?at=2027-04-01T00:00:00Z"

		// Every role that reads cases reads the report; the collector and
		// strangers do not.
		for _, role := range cases.Roles {
			var doc struct {
				Period string
				Rows   []struct{ Country string }
			}
			w := f.do(role, "GET", path, nil, &doc)
			want := http.StatusOK
			if role == cases.RoleCollector {
				want = http.StatusForbidden
			}
			if w.Code != want || (want == http.StatusOK && (doc.Period != "2026-Q3" || len(doc.Rows) != 6)) {
				t.Errorf("%s: %d %s", role, w.Code, w.Body)
			}
		}
		if w := f.do("", "GET", path, nil, nil); w.Code != http.StatusUnauthorized {
			t.Errorf("no token: %d", w.Code)
		}

		w := f.do(cases.RoleAuditor, "GET", path+"&format=csv", nil, nil)
		golden, _ := os.ReadFile("../testdata/report/2026-Q3.csv")
		if w.Code != http.StatusOK || w.Body.String() != string(golden) || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
			!strings.Contains(w.Header().Get("Content-Disposition"), `filename="transparency-report-2026-Q3.csv"`) {
			t.Errorf("csv: %d %v\n%s", w.Code, w.Header(), w.Body)
		}
		w = f.do(cases.RoleAuditor, "GET", path+"&format=pdf", nil, nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(w.Body.String(), "%PDF-") {
			t.Errorf("pdf: %d %v", w.Code, w.Header())
		}
		w = f.do(cases.RoleIntake, "GET", "/api/v1/reports/2026-Q3?format=csv&table=national_security&at=2027-03-29T23:59:59Z", nil, nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "2026-Q3,US,nsl,pending,pending") {
			t.Errorf("national-security csv: %d %s", w.Code, w.Body)
		}

		var explained struct {
			Country string
			Row     struct {
				TotalRequests int64 `json:"total_requests"`
			}
			Cases []struct {
				Number      string
				ProcessType string `json:"process_type"`
			}
		}
		w = f.do(cases.RoleReviewer, "GET", "/api/v1/reports/2026-Q3/countries/us/cases", nil, &explained)
		if w.Code != http.StatusOK || explained.Country != "US" || len(explained.Cases) != 12 || explained.Row.TotalRequests != 10 {
			t.Errorf("explain: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleCollector, "GET", "/api/v1/reports/2026-Q3/countries/US/cases", nil, nil); w.Code != http.StatusForbidden {
			t.Errorf("collector explains: %d", w.Code)
		}
	})
}

func TestAPIReportBadInput(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	for path, field := range map[string]string{
		"/api/v1/reports/2026-Q5":                                    "period",
		"/api/v1/reports/2026-Q3?format=xml":                         "format",
		"/api/v1/reports/2026-Q3?at=tomorrow":                        "at",
		"/api/v1/reports/2026-Q3?table=secret":                       "table",
		"/api/v1/reports/2026-Q3?format=pdf&table=national_security": "table",
		"/api/v1/reports/2026-Q3/countries/UK/cases":                 "country",
	} {
		var body struct {
			Error  string
			Fields map[string]string
		}
		if w := f.do(cases.RoleAuditor, "GET", path, nil, &body); w.Code != http.StatusBadRequest || body.Fields[field] == "" {
			t.Errorf("%s: %d %+v, want 400 naming %s", path, w.Code, body, field)
		}
	}
}
