package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

var ctx = context.Background()

// fixture is a server on a real database with one user and token per role.
type fixture struct {
	t      testing.TB
	db     *store.DB
	srv    *Server
	tokens map[cases.Role]string
	emails map[cases.Role]string
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, tokens: map[cases.Role]string{}, emails: map[cases.Role]string{}}
	f.srv = New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Tests send hundreds of requests a millisecond with one token; the
	// rate limit has its own tests (apilimit_test.go).
	f.srv.APILimit = RateLimit{}
	passwordOnly(t, db)
	for _, r := range cases.Roles {
		email := string(r) + "@example.org"
		if _, _, err := db.CreateUser(ctx, "test", email, r); err != nil {
			t.Fatal(err)
		}
		tok, err := db.CreateToken(ctx, "test", email)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[r], f.emails[r] = tok, email
	}
	listDirectory(t, db)
	return f
}

// listDirectory lists the agencies of the test requests in the directory
// (testdata/demo/directory.json), as an admin would have.
func listDirectory(t testing.TB, db *store.DB) {
	t.Helper()
	b, err := os.ReadFile("../testdata/demo/directory.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ListDirectory(ctx, "admin@example.org", b); err != nil {
		t.Fatal(err)
	}
}

// do sends a request as role ("" for none) and decodes a JSON answer.
func (f *fixture) do(role cases.Role, method, path string, body []byte, out any) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	if out != nil && w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			f.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, w.Body)
		}
	}
	return w
}

func fixtureJSON(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/requests/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) create(role cases.Role, name string) *cases.Case {
	f.t.Helper()
	var c cases.Case
	if w := f.do(role, "POST", "/api/v1/cases", fixtureJSON(f.t, name), &c); w.Code != http.StatusCreated {
		f.t.Fatalf("create %s: %d %s", name, w.Code, w.Body)
	}
	return &c
}

func TestAPIAuthentication(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	if w := f.do("", "GET", "/api/v1/cases", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", w.Code)
	}
	req := httptest.NewRequest("GET", "/api/v1/cases", nil)
	req.Header.Set("Authorization", "Bearer env_forged")
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("forged token: %d", w.Code)
	}
	if w := f.do(cases.RoleCollector, "GET", "/api/v1/cases", nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("collector reading cases: %d", w.Code)
	}
	if w := f.do(cases.RoleAuditor, "POST", "/api/v1/cases", fixtureJSON(t, "subpoena.json"), nil); w.Code != http.StatusForbidden {
		t.Errorf("auditor logging a case: %d", w.Code)
	}
	if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases", nil, nil); w.Code != http.StatusOK {
		t.Errorf("auditor reading: %d", w.Code)
	}
}

// A case posted through the API reads back identical after a restart.
func TestAPICaseSurvivesRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		posted := fixtureJSON(t, "pen_register.json")
		c := f.create(cases.RoleIntake, "pen_register.json")
		if c.ID == 0 || c.Number == "" || c.Status != cases.StatusReceived || c.Decision == nil {
			t.Fatalf("created: %+v", c)
		}
		db.Close()
		db2, err := store.Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		f.db, f.srv = db2, New(db2, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		var got map[string]any
		if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+c.Number, nil, &got); w.Code != http.StatusOK {
			t.Fatalf("get after restart: %d %s", w.Code, w.Body)
		}
		var want map[string]any
		json.Unmarshal(posted, &want)
		for k, v := range want {
			gotJSON, _ := json.Marshal(got[k])
			wantJSON, _ := json.Marshal(v)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("%s: got %s, want %s", k, gotJSON, wantJSON)
			}
		}
		var dec cases.Decision
		if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+c.Number+"/decision", nil, &dec); w.Code != http.StatusOK {
			t.Fatalf("decision: %d", w.Code)
		}
		if dec.PolicyVersion != policy.Default().Version() || len(dec.Allowed)+len(dec.Denied) == 0 {
			t.Fatalf("stored decision: %+v", dec)
		}
	})
}

// Bad input is refused naming the field, and nothing is written.
func TestAPIBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		base := string(fixtureJSON(t, "pen_register.json"))
		huge := `{"agency": {"name": "` + strings.Repeat("x", MaxBodySize) + `"}}`
		tests := []struct {
			name, body, field string
			status            int
		}{
			{"malformed JSON", `{"agency":`, "body", 400},
			{"unknown process", strings.Replace(base, `"pen_register"`, `"wiretap"`, 1), "process.type", 400},
			{"unknown category", strings.Replace(base, `"message_pairs"`, `"messages"`, 1), "categories[0]", 400},
			{"not a phone number in the agency's country", strings.Replace(base, `"+14155550123"`, `"555-0123"`, 1), "targets[0].value", 400},
			{"bad date", strings.Replace(base, `"2026-11-27T00:00:00Z"`, `"next friday"`, 1), "due_at", 400},
			{"missing country", strings.Replace(base, `"country": "US", `, ``, 1), "agency.country", 400},
			{"oversized body", huge, "body", 413},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, _ := f.db.VerifyAudit(ctx)
				var e struct {
					Error  string            `json:"error"`
					Fields map[string]string `json:"fields"`
				}
				w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(tt.body), &e)
				if w.Code != tt.status || e.Error == "" || e.Fields[tt.field] == "" {
					t.Fatalf("got %d %s, want %d naming %s", w.Code, w.Body.String()[:min(w.Body.Len(), 300)], tt.status, tt.field)
				}
				if strings.Contains(w.Body.String(), "goroutine") || strings.Contains(w.Body.String(), ".go:") {
					t.Fatal("stack trace in answer")
				}
				after, _ := f.db.VerifyAudit(ctx)
				n, _ := f.db.CountCases(ctx)
				if n != 0 || after != before {
					t.Fatalf("bad input wrote something: %d cases, %d→%d audit events", n, before, after)
				}
			})
		}
	})
}

func TestAPIReviewWorkflow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		sub := f.create(cases.RoleIntake, "subpoena.json")
		path := "/api/v1/cases/" + sub.Number
		if w := f.do(cases.RoleIntake, "POST", path+"/approve", []byte(`{"note": ""}`), nil); w.Code != http.StatusForbidden {
			t.Errorf("intake approving: %d", w.Code)
		}
		own := f.create(cases.RoleReviewer, "subpoena.json")
		if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+own.Number+"/approve", []byte(`{"note": ""}`), nil); w.Code != http.StatusForbidden {
			t.Errorf("approving one's own case: %d", w.Code)
		}
		var got cases.Case
		if w := f.do(cases.RoleReviewer, "POST", path+"/approve", []byte(`{"note": ""}`), &got); w.Code != http.StatusOK || got.Status != cases.StatusApproved {
			t.Fatalf("approve: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleSupervisor, "POST", path+"/reject", []byte(`{"reason": "late"}`), nil); w.Code != http.StatusConflict {
			t.Errorf("deciding twice: %d", w.Code)
		}

		// An emergency needs a supervisor, and its needs_review decision a note.
		em := f.create(cases.RoleIntake, "emergency.json")
		epath := "/api/v1/cases/" + em.Number
		if w := f.do(cases.RoleReviewer, "POST", epath+"/approve", []byte(`{"note": "ok"}`), nil); w.Code != http.StatusForbidden {
			t.Errorf("reviewer approving an emergency: %d", w.Code)
		}
		if em.Decision.Outcome == cases.OutcomeNeedsReview {
			if w := f.do(cases.RoleSupervisor, "POST", epath+"/approve", []byte(`{"note": ""}`), nil); w.Code != http.StatusBadRequest {
				t.Errorf("needs_review without a note: %d", w.Code)
			}
		}
		// ... and a confirmed callback by someone else first (issue 12).
		if w := f.do(cases.RoleIntake, "POST", epath+"/verifications", []byte(`{"method": "callback", "phone": "+442072301212", "outcome": "confirmed"}`), nil); w.Code != http.StatusCreated {
			t.Fatalf("callback: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleSupervisor, "POST", epath+"/approve", []byte(`{"note": "called the duty officer back"}`), nil); w.Code != http.StatusOK {
			t.Errorf("supervisor approving an emergency: %d %s", w.Code, w.Body)
		}

		// A title III request is rejected by policy and cannot be approved.
		t3 := strings.Replace(string(fixtureJSON(t, "subpoena.json")), `"subpoena"`, `"title_iii"`, 1)
		var tc cases.Case
		f.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(t3), &tc)
		if tc.Decision == nil || tc.Decision.Outcome != cases.OutcomeReject {
			t.Fatalf("title III decision: %+v", tc.Decision)
		}
		if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+tc.Number+"/approve", nil, nil); w.Code != http.StatusConflict {
			t.Errorf("approving a reject decision: %d", w.Code)
		}
		var evs struct {
			Events []cases.Event `json:"events"`
		}
		f.do(cases.RoleAuditor, "GET", path+"/events", nil, &evs)
		actions := []string{}
		for _, e := range evs.Events {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "case.create,case.decide,case.approve" {
			t.Errorf("timeline: %v", actions)
		}
	})
}

func TestAPIListFilters(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.create(cases.RoleIntake, "subpoena.json")
	f.create(cases.RoleIntake, "emergency.json")
	var page cases.Page
	if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases?country=GB&process=emergency", nil, &page); w.Code != 200 || len(page.Cases) != 1 {
		t.Fatalf("filter: %d %d", w.Code, len(page.Cases))
	}
	var e struct{ Fields map[string]string }
	if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases?status=open&due_before=soon", nil, &e); w.Code != 400 || e.Fields["status"] == "" || e.Fields["due_before"] == "" {
		t.Fatalf("bad filter: %d %v", w.Code, e.Fields)
	}
}

func TestAPIPolicyCheck(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	var dec cases.Decision
	w := f.do(cases.RoleIntake, "POST", "/api/v1/policy/check?at=2026-11-20T09:31:00Z", fixtureJSON(t, "pen_register.json"), &dec)
	if w.Code != 200 || dec.Outcome != cases.OutcomePartial || dec.UserNotice != cases.NoticeDelayed {
		t.Fatalf("check: %d %+v", w.Code, dec)
	}
	if a, ok := dec.AllowedFor(cases.MessagePairs); !ok || a.Rule != "US-PEN-REGISTER" || a.Window == nil ||
		a.Window.To.Format("2006-01-02") != "2027-01-19" {
		t.Fatalf("message pairs: %+v", a)
	}
	if n, _ := f.db.CountCases(ctx); n != 0 {
		t.Fatal("a policy check logged a case")
	}
}

func TestAPIDocumentUpload(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	c := f.create(cases.RoleIntake, "subpoena.json")
	path := "/api/v1/cases/" + c.Number + "/document?filename=order.pdf"
	put := func(body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PUT", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleIntake])
		req.Header.Set("Content-Type", "application/pdf")
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		return w
	}
	if w := put([]byte("<html>not a pdf</html>")); w.Code != 400 || !strings.Contains(w.Body.String(), "document") {
		t.Errorf("non-PDF: %d %s", w.Code, w.Body)
	}
	if w := put(append([]byte("%PDF-1.7\n"), make([]byte, cases.MaxDocumentSize+2<<20)...)); w.Code != 413 {
		t.Errorf("oversized: %d", w.Code)
	}
	pdf := []byte("%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n")
	if w := put(pdf); w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+c.Number+"/document", nil, nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), pdf) || w.Header().Get("X-Content-SHA256") == "" {
		t.Fatalf("download: %d", w.Code)
	}
}

// A policy that does not load is refused and the running policy stays; one
// that loads is in force at once and after a restart, and is audited.
func TestAPIActivatePolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		before := f.srv.Policy().Version()
		var e struct{ Fields map[string]string }
		broken := strings.Replace(string(policy.Default().Source()), "max: 25", "max: -1", 1)
		if w := f.do(cases.RoleAdmin, "PUT", "/api/v1/policy", []byte(broken), &e); w.Code != 400 || e.Fields["policy"] == "" {
			t.Fatalf("broken policy: %d %v", w.Code, e.Fields)
		}
		if f.srv.Policy().Version() != before {
			t.Fatal("a refused policy replaced the running one")
		}
		stricter := strings.Replace(string(policy.Default().Source()), "max: 25", "max: 1", 1)
		if w := f.do(cases.RoleReviewer, "PUT", "/api/v1/policy", []byte(stricter), nil); w.Code != 403 {
			t.Fatalf("reviewer activating a policy: %d", w.Code)
		}
		// Replay first: the emergency fixture has two targets, so it would change.
		f.create(cases.RoleIntake, "emergency.json")
		var report policy.ReplayReport
		if w := f.do(cases.RoleAdmin, "POST", "/api/v1/policy/replay", []byte(stricter), &report); w.Code != 200 || report.Cases != 1 || len(report.Changed) != 1 {
			t.Fatalf("replay: %d %+v", w.Code, report)
		}
		var got struct{ Version string }
		if w := f.do(cases.RoleAdmin, "PUT", "/api/v1/policy", []byte(stricter), &got); w.Code != 200 || got.Version == before {
			t.Fatalf("activate: %d %+v", w.Code, got)
		}
		c := f.create(cases.RoleIntake, "emergency.json")
		if c.Decision.PolicyVersion != got.Version || c.Decision.Outcome != cases.OutcomeReject {
			t.Fatalf("new case decided under %s: %s", c.Decision.PolicyVersion, c.Decision.Outcome)
		}
		restarted, err := ActivePolicy(ctx, db)
		if err != nil || restarted.Version() != got.Version {
			t.Fatalf("after restart: %v %v", restarted, err)
		}
		evs, _ := db.Events(ctx, "policy", "1")
		if len(evs) != 1 || evs[0].Action != "policy.activate" || evs[0].Actor != f.emails[cases.RoleAdmin] {
			t.Fatalf("activation audit: %+v", evs)
		}
	})
}

// An oversized upload sent as a form is refused with 413 naming the
// document, like a raw one: the limit is recognised by its error type.
func TestAPIDocumentUploadFormTooLarge(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	c := f.create(cases.RoleIntake, "subpoena.json")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("document", "order.pdf")
	part.Write(append([]byte("%PDF-1.7\n"), make([]byte, cases.MaxDocumentSize+2<<20)...))
	mw.Close()
	req := httptest.NewRequest("PUT", "/api/v1/cases/"+c.Number+"/document", &body)
	req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleIntake])
	req.Header.Set("Content-Type", mw.FormDataContentType())
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "document") {
		t.Fatalf("oversized form upload: %d %s", w.Code, w.Body)
	}
}
