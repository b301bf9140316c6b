package web

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// An approved preservation request has no deadline left: it leaves the
// overdue panel, where a received one past its due date stays.
func TestOverduePanelLeavesApprovedPreservation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		fixClock(p.fixture, collectNow)
		var req map[string]any
		if err := json.Unmarshal(fixtureJSON(t, "subpoena.json"), &req); err != nil {
			t.Fatal(err)
		}
		req["process"] = map[string]any{"type": "preservation"}
		req["received_at"] = collectNow.Add(-72 * time.Hour).Format(time.RFC3339)
		req["due_at"] = collectNow.Add(-time.Hour).Format(time.RFC3339)
		b, _ := json.Marshal(req)
		var pres, other cases.Case
		for _, c := range []*cases.Case{&pres, &other} {
			if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", b, c); w.Code != http.StatusCreated {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
		}
		if got := panel(p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String(), "h-overdue"); !strings.Contains(got, pres.Number) {
			t.Fatalf("a received overdue preservation is not in the overdue panel:\n%s", got)
		}
		if w := p.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+itoa(pres.ID)+"/approve", []byte(`{"note":"checked"}`), nil); w.Code != http.StatusOK {
			t.Fatalf("approve: %d %s", w.Code, w.Body)
		}
		got := panel(p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String(), "h-overdue")
		if strings.Contains(got, pres.Number) || !strings.Contains(got, other.Number) {
			t.Errorf("overdue panel after approving the preservation (want only %s):\n%s", other.Number, got)
		}
	})
}

// The API's case-work routes refuse bad input with the field named, and a
// state that forbids the change with 409; nothing is written.
func TestAPICaseworkRefusals(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	c := f.create(cases.RoleIntake, "subpoena.json")
	path := "/api/v1/cases/" + c.Number
	for _, call := range []struct {
		role   cases.Role
		route  string
		body   string
		status int
		field  string
	}{
		{cases.RoleReviewer, "/shape", `{"window":{"from":"2025-01-01T00:00:00Z","to":"2026-07-01T00:00:00Z"},"reason":"r"}`, 400, "window"},
		{cases.RoleReviewer, "/shape", `{"categories":["message_content"],"reason":"r"}`, 400, "categories[0]"},
		{cases.RoleReviewer, "/targets/decide", `{"value":"+15550000000","produce":false,"reason":"not ours"}`, 400, "targets[0].value"},
		{cases.RoleIntake, "/close", `{}`, 400, "reason"},
		{cases.RoleIntake, "/clarification/answer", `{"answer":"x"}`, 409, ""},
		{cases.RoleSupervisor, "/reopen", `{"reason":"x"}`, 409, ""},
		{cases.RoleReviewer, "/end", `{"result":"refused","reason":"because"}`, 400, "reason"},
		// A key the route does not take, or a value that is not a string,
		// is named, never dropped.
		{cases.RoleIntake, "/withdraw", `{"text":"q?","reason":"the agency withdrew it"}`, 400, "text"},
		{cases.RoleIntake, "/clarification", `{"question":5}`, 400, "question"},
	} {
		var e struct {
			Fields map[string]string `json:"fields"`
		}
		w := f.do(call.role, "POST", path+call.route, []byte(call.body), &e)
		if w.Code != call.status || (call.field != "" && e.Fields[call.field] == "") {
			t.Errorf("%s %s: %d %s, want %d naming %q", call.route, call.body, w.Code, w.Body, call.status, call.field)
		}
	}
	got, err := f.db.Case(ctx, c.Number)
	if err != nil || got.Shape != nil || got.Status != cases.StatusReceived {
		t.Errorf("a refused change wrote: %+v %v", got, err)
	}
	if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases?q="+strings.Repeat("4", 10000), nil, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"q"`) {
		t.Errorf("a search of 10,000 characters: %d %s", w.Code, w.Body.String()[:min(200, w.Body.Len())])
	}
	var wl struct {
		Workload []struct {
			Assignee string `json:"assignee"`
			Open     int    `json:"open"`
		} `json:"workload"`
	}
	if w := f.do(cases.RoleAuditor, "GET", "/api/v1/workload", nil, &wl); w.Code != http.StatusOK || len(wl.Workload) != 1 || wl.Workload[0].Open != 1 {
		t.Errorf("workload: %d %s", w.Code, w.Body)
	}
}

// The case page and the intake's check show the other cases naming the
// same account or reference.
func TestPortalDuplicates(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	first := p.create(cases.RoleIntake, "subpoena.json")
	second := p.create(cases.RoleIntake, "subpoena.json")
	page := p.page(cases.RoleAuditor, "GET", "/cases/"+itoa(second.ID), nil).Body.String()
	if !strings.Contains(page, "The same account or reference is in 1 other case(s)") || !strings.Contains(page, first.Number) {
		t.Errorf("case page lacks the duplicate %s", first.Number)
	}
	var dup struct {
		Related []struct {
			Number string   `json:"number"`
			Shares []string `json:"shares"`
		} `json:"related"`
	}
	if w := p.do(cases.RoleIntake, "GET", "/api/v1/duplicates?target=acc_9f8e7d6c", nil, &dup); w.Code != http.StatusOK || len(dup.Related) != 2 {
		t.Errorf("duplicates: %d %s", w.Code, w.Body)
	}
}

// Auditors browse and filter the audit log, verify it from the portal,
// and export it and the case list as CSV with formula cells neutralised.
func TestAuditPages(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	c := p.create(cases.RoleIntake, "subpoena.json")
	// An agency named like a formula: the case list's agency cell and the
	// audit log's actor-supplied fields must not run in a spreadsheet.
	var evil cases.Case
	req := strings.Replace(string(fixtureJSON(t, "subpoena.json")), `"New York County District Attorney"`, `"=HYPERLINK(\"http://evil\")"`, 1)
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(req), &evil); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if w := p.page(cases.RoleIntake, "GET", "/audit", nil); w.Code != http.StatusForbidden {
		t.Errorf("intake on the audit page: %d", w.Code)
	}
	page := p.page(cases.RoleAuditor, "GET", "/audit?action=case.note", nil).Body.String()
	if !strings.Contains(page, "case.note") || strings.Contains(page, ">case.create<") {
		t.Errorf("filtered audit page:\n%s", panel(page, "audit-events"))
	}
	if got := p.page(cases.RoleAuditor, "GET", "/audit/verify", nil).Body.String(); !strings.Contains(got, "Audit log intact") {
		t.Errorf("verify from the portal:\n%s", got)
	}
	for _, path := range []string{"/audit.csv", "/cases.csv"} {
		w := p.page(cases.RoleAuditor, "GET", path, nil)
		rows, err := csv.NewReader(w.Body).ReadAll()
		if w.Code != http.StatusOK || err != nil || len(rows) < 2 {
			t.Fatalf("%s: %d %v %d rows", path, w.Code, err, len(rows))
		}
		for _, r := range rows {
			for _, cell := range r {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %q would run as a formula", path, cell)
				}
			}
		}
	}
	if body := p.page(cases.RoleAuditor, "GET", "/cases.csv", nil).Body.String(); !strings.Contains(body, c.Number) || !strings.Contains(body, `'=HYPERLINK`) {
		t.Errorf("case list CSV lacks %s or the neutralised agency:\n%s", c.Number, body)
	}
}

// TestAuditEventsLimit: the API's limit is honoured, and one that is not a
// number, or more than a page may hold (store.MaxAuditPage), is refused
// naming the field instead of being ignored.
func TestAuditEventsLimit(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	for range 3 {
		p.create(cases.RoleIntake, "subpoena.json")
	}
	var got struct {
		Events []json.RawMessage `json:"events"`
		Next   int64             `json:"next"`
	}
	if w := p.do(cases.RoleAuditor, "GET", "/api/v1/audit/events?limit=2", nil, &got); w.Code != http.StatusOK || len(got.Events) != 2 || got.Next == 0 {
		t.Errorf("limit=2: %d, %d events, next %d", w.Code, len(got.Events), got.Next)
	}
	for _, bad := range []string{"abc", "-1", "1e3", "1001"} {
		w := p.do(cases.RoleAuditor, "GET", "/api/v1/audit/events?limit="+bad, nil, nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"limit"`) {
			t.Errorf("limit=%s: %d %s", bad, w.Code, w.Body)
		}
	}
}

// A search too long to run answers 400 naming the field on both the
// portal and the API, through a real listener with the server's limits
// (HTTPServer): the request line of 10,000 characters plus a session
// cookie is well inside them, so nothing closes the connection before the
// handler speaks. (curl 7.88 drops the cookie of a URL past 8 KB and never
// ends its headers, which looked like an empty reply from the server.)
func TestLongSearchRefusedOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		ts := httptest.NewUnstartedServer(p.srv)
		ts.Config = HTTPServer(p.srv)
		ts.Start()
		defer ts.Close()
		for _, q := range []string{strings.Repeat("4", 10000), strings.Repeat("a ", 1000)} {
			for _, path := range []string{"/cases", "/api/v1/cases"} {
				req, _ := http.NewRequest("GET", ts.URL+path+"?q="+url.QueryEscape(q), nil)
				req.AddCookie(&http.Cookie{Name: SessionCookie, Value: p.sessions[cases.RoleReviewer]})
				req.Header.Set("Authorization", "Bearer "+p.tokens[cases.RoleReviewer])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s with %d characters: %v", path, len(q), err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "search") && !strings.Contains(string(body), `"q"`) {
					t.Errorf("%s with %d characters: %d %.300s", path, len(q), resp.StatusCode, body)
				}
			}
		}
	})
}

// A case list page holds at most cases.MaxPageSize cases (issue 18: a
// cap on the size of a list's response): a larger limit is a 400 naming
// limit, in the API and in the portal, rather than a silently shorter
// page; the largest page is served, with next as its cursor.
func TestListPageSizeCapped(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	p.create(cases.RoleIntake, "subpoena.json")
	var errBody struct {
		Fields map[string]string `json:"fields"`
	}
	w := p.do(cases.RoleReviewer, "GET", fmt.Sprintf("/api/v1/cases?limit=%d", cases.MaxPageSize+1), nil, &errBody)
	if w.Code != http.StatusBadRequest || !strings.Contains(errBody.Fields["limit"], "at most 500") {
		t.Errorf("API limit past the cap: %d %s", w.Code, w.Body)
	}
	var page struct {
		Cases []json.RawMessage `json:"cases"`
	}
	if w := p.do(cases.RoleReviewer, "GET", fmt.Sprintf("/api/v1/cases?limit=%d", cases.MaxPageSize), nil, &page); w.Code != http.StatusOK || len(page.Cases) != 1 {
		t.Errorf("API limit at the cap: %d %s", w.Code, w.Body)
	}
	w = p.page(cases.RoleReviewer, "GET", fmt.Sprintf("/cases?limit=%d", cases.MaxPageSize+1), nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "limit: at most 500 cases a page") {
		t.Errorf("portal limit past the cap: %d", w.Code)
	}
}
