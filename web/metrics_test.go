package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/jobs"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// After some requests /metrics exposes them by route and status, with
// their latencies, the admission waits, the decisions by outcome, the audit
// log's size and the scheduler runs; /healthz and /readyz answer.
func TestMetricsAndHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		get := func(path string) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleIntake])
			f.srv.ServeHTTP(w, req)
			return w
		}
		for _, path := range []string{"/healthz", "/readyz"} {
			if w := get(path); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"ok"`) {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body)
			}
		}
		get("/api/v1/cases")
		get("/api/v1/cases/999")
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/policy/check?at=2026-11-20T09:31:00Z", fixtureJSON(t, "pen_register.json"), nil); w.Code != http.StatusOK {
			t.Fatalf("policy check: %d %s", w.Code, w.Body)
		}
		jobs.Ran("production", nil)
		m := get("/metrics")
		if m.Code != http.StatusOK {
			t.Fatalf("/metrics: %d", m.Code)
		}
		body := m.Body.String()
		for _, want := range []string{
			`envelope_http_requests_total{method="GET",route="/api/v1/cases",status="200"} 1`,
			`envelope_http_requests_total{method="GET",route="/api/v1/cases/:id",status="404"} 1`,
			`envelope_http_request_duration_seconds_count{method="GET",route="/api/v1/cases"} 1`,
			`envelope_admission_wait_seconds_count{outcome="admitted"}`,
			`envelope_decisions_total{outcome=`,
			`envelope_audit_events `,
			`envelope_db_commits_total `,
			`envelope_db_tx_retries_total `,
			`envelope_db_deadlocks_total `,
			`envelope_scheduler_runs_total{job="production",outcome="ok"}`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(body, `route="/api/v1/cases/999"`) {
			t.Error("a path, not its route, labels a metric")
		}
	})
}

// /readyz says not ready, naming why, when the database is gone.
func TestReadyzWithoutDatabase(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.db.Close()
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "database") {
		t.Fatalf("readyz without a database: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	f.srv.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("healthz: %d", w.Code)
	}
}

// A request's method is the client's to choose (any token: BREW, X1, X2
// ...), and each distinct label value is a series the process keeps for
// good: the metrics label the methods HTTP defines by name and every
// other as "other", so a client cannot grow the server's memory (and
// every scrape) by inventing methods.
func TestMetricsMethodsBounded(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	for i := range 40 {
		for _, path := range []string{"/nowhere", "/api/v1/cases"} {
			req := httptest.NewRequest(fmt.Sprintf("X%d", i), path, nil)
			f.srv.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	if n := strings.Count(body, `method="X`); n > 0 || !strings.Contains(body, `method="other"`) {
		t.Errorf("/metrics holds %d series of made-up methods (and other: %v)", n, strings.Contains(body, `method="other"`))
	}
}
