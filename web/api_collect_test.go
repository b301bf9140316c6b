package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

// collectNow is the tests' clock: the pen register fixture's order is in
// force then.
var collectNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// penRegisterCase logs testdata's pen register through the API (the policy
// allows message_pairs prospectively up to 2027-01-19) and approves it.
func (f *fixture) penRegisterCase() *cases.Case {
	f.t.Helper()
	c := f.create(cases.RoleIntake, "pen_register.json")
	if a, ok := c.Decision.AllowedFor(cases.MessagePairs); !ok || !a.Prospective || a.Window == nil {
		f.t.Fatalf("the policy does not allow message pairs prospectively: %+v", c.Decision)
	}
	if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+c.Number+"/approve", []byte(`{"note": ""}`), nil); w.Code != http.StatusOK {
		f.t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	return c
}

func fixClock(f *fixture, t time.Time) {
	f.srv.Now = func() time.Time { return t }
	f.db.Now = func() time.Time { return t }
}

func event(from, to string, at time.Time, kind string) string {
	return fmt.Sprintf(`{"from":%q,"to":%q,"at":%q,"kind":%q}`, from, to, at.Format(time.RFC3339), kind)
}

func TestAPICollectEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		fixClock(f, collectNow)
		c := f.penRegisterCase()
		target, other := "+14155550123", "+447911123456"
		body := strings.Join([]string{
			event(target, other, collectNow.Add(-time.Minute), "text"),                                                     // before approval
			event(other, target, collectNow.Add(time.Minute), "media"),                                                     // kept
			`{"from":"` + target + `","to":"+12125550188","at":"2026-11-20T11:59:00-00:05","kind":"text","body":"secret"}`, // 12:04Z: kept
			event(other, "+12125550188", collectNow.Add(time.Minute), "text"),                                              // other accounts
			event(target, other, collectNow.Add(time.Hour), "call"),                                                        // clock error
			`{"from":"` + target + `"}`,                                                                                    // malformed
			``,
		}, "\n")
		for _, role := range []cases.Role{cases.RoleIntake, cases.RoleReviewer, cases.RoleSupervisor, cases.RoleAuditor, cases.RoleAdmin} {
			if w := f.do(role, "POST", "/api/v1/collect/events", []byte(body), nil); w.Code != http.StatusForbidden {
				t.Errorf("%s posting events: %d", role, w.Code)
			}
		}
		if w := f.do("", "POST", "/api/v1/collect/events", []byte(body), nil); w.Code != http.StatusUnauthorized {
			t.Errorf("no token: %d", w.Code)
		}
		var ans map[string]any
		w := f.do(cases.RoleCollector, "POST", "/api/v1/collect/events", []byte(body), &ans)
		if w.Code != http.StatusOK {
			t.Fatalf("collect: %d %s", w.Code, w.Body)
		}
		want := map[string]float64{"received": 6, "kept": 2, "clock_errors": 1, "rejected": 1}
		for k, v := range want {
			if ans[k] != v {
				t.Errorf("%s = %v, want %v (%s)", k, ans[k], v, w.Body)
			}
		}
		if errs, _ := ans["errors"].([]any); len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "line:6") {
			t.Errorf("errors: %v", ans["errors"])
		}
		// The metrics count the same: the collection rate by outcome.
		m := httptest.NewRecorder()
		f.srv.ServeHTTP(m, httptest.NewRequest("GET", "/metrics", nil))
		for outcome, n := range map[string]int{"kept": 2, "dropped": 2, "clock_error": 1, "rejected": 1} {
			if line := fmt.Sprintf(`envelope_collection_events_total{outcome=%q} %d`, outcome, n); !strings.Contains(m.Body.String(), line+"\n") {
				t.Errorf("/metrics lacks %s", line)
			}
		}
		var coll struct {
			Windows []metadata.Window `json:"windows"`
			Pairs   int64             `json:"pairs"`
		}
		if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+c.Number+"/collection", nil, &coll); w.Code != http.StatusOK ||
			coll.Pairs != 2 || len(coll.Windows) != 1 || !coll.Windows[0].OpensAt.Equal(collectNow) {
			t.Fatalf("collection: %d %+v", w.Code, coll)
		}
		if w := f.do(cases.RoleCollector, "GET", "/api/v1/cases/"+c.Number+"/collection", nil, nil); w.Code != http.StatusForbidden {
			t.Errorf("collector reading a case's collection: %d", w.Code)
		}
		// Closing the case (the order withdrawn) stops collection.
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/close", []byte(`{"reason": "order withdrawn"}`), nil); w.Code != http.StatusOK {
			t.Fatalf("close: %d %s", w.Code, w.Body)
		}
		fixClock(f, collectNow.Add(time.Hour))
		w = f.do(cases.RoleCollector, "POST", "/api/v1/collect/events", []byte(event(target, other, collectNow.Add(30*time.Minute), "text")), &ans)
		if ans["kept"] != 0.0 || ans["received"] != 1.0 {
			t.Fatalf("after the close: %s", w.Body)
		}
	})
}

// brokenBody fails after its first line, as a dropped connection does.
type brokenBody struct{ sent bool }

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, io.ErrUnexpectedEOF
	}
	b.sent = true
	return copy(p, event("+14155550123", "+447911123456", collectNow, "text")+"\n"), nil
}

// A stream that breaks off is the client's error (400), not ours.
func TestAPICollectBrokenBody(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	req := httptest.NewRequest("POST", "/api/v1/collect/events", &brokenBody{})
	req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleCollector])
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "could not be read") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// eventStream writes n events to w: one in ten involves the target, at a
// time spread over [collectNow-1h, collectNow+1h); it returns how many of
// them are inside the target's span (from collectNow on) via kept.
func eventStream(w io.Writer, n int, target string, others []string, kept *int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < n; i++ {
		from, to := others[rng.IntN(len(others))], others[rng.IntN(len(others))]
		at := collectNow.Add(time.Duration(rng.Int64N(int64(2*time.Hour))) - time.Hour).Truncate(time.Microsecond)
		if rng.IntN(10) == 0 {
			from = target
			if !at.Before(collectNow) {
				*kept++
			}
		}
		if _, err := fmt.Fprintf(bw, `{"from":"%s","to":"%s","at":"%s","kind":"text"}`+"\n", from, to, at.Format(time.RFC3339Nano)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// A million events posted over a real loopback connection, streamed as
// they are generated: exactly the known number is kept.
func TestAPICollectMillionOverLoopback(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	f := newFixture(t, storetest.SQLite(t))
	fixClock(f, collectNow)
	c := f.penRegisterCase()
	fixClock(f, collectNow.Add(time.Hour)) // every event is stamped in the past
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	var others []string
	for _, p := range metadata.Phones(1001, 5) {
		if p != "+14155550123" {
			others = append(others, p)
		}
	}
	var kept int
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(eventStream(pw, n, "+14155550123", others, &kept)) }()
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/collect/events", pr)
	req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleCollector])
	req.Header.Set("Content-Type", "application/x-ndjson")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans metadata.CollectResult
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	t.Logf("%d events over HTTP in %v: %+v", ans.Received, time.Since(start), ans)
	if ans != (metadata.CollectResult{Received: int64(n), Kept: int64(kept)}) || kept < n/40 {
		t.Fatalf("got %+v, want %d received and %d kept", ans, n, kept)
	}
	var pairs int
	f.db.Reader().Get(&pairs, f.db.Reader().Rebind("SELECT COUNT(*) FROM collected_pairs WHERE case_id = ?"), c.ID)
	if pairs != kept {
		t.Fatalf("%d pairs stored, %d kept", pairs, kept)
	}
}

// BenchmarkCollectHTTP posts a million NDJSON events per op to the
// endpoint over loopback, through authentication and the router: 10,000
// active targets, one event in twenty involving one, kept pairs stored in
// SQLite.
func BenchmarkCollectHTTP(b *testing.B) {
	db := storetest.SQLite(b)
	now := collectNow
	db.Now = func() time.Time { return now }
	srv := New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := b.Context()
	if _, _, err := db.CreateUser(ctx, "bench", "svc@example.org", cases.RoleCollector); err != nil {
		b.Fatal(err)
	}
	token, _ := db.CreateToken(ctx, "bench", "svc@example.org")
	intake, _, _ := db.CreateUser(ctx, "bench", "ivy@example.org", cases.RoleIntake)
	rev, _, _ := db.CreateUser(ctx, "bench", "rex@example.org", cases.RoleReviewer)
	phones := metadata.Phones(20_000, 7)
	targets, others := phones[:10_000], phones[10_000:]
	w := &cases.Window{From: now.Add(-time.Hour), To: now.Add(time.Hour)}
	for i := 0; i < len(targets); i += 25 {
		req := &cases.Request{ReceivedAt: now, Agency: cases.Agency{Name: "FBI", Country: "US"},
			Process: cases.Process{Type: cases.PenRegister, Reference: fmt.Sprint("bench-", i)}, Categories: []cases.Category{cases.MessagePairs}, Window: w}
		for _, t := range targets[i : i+25] {
			req.Targets = append(req.Targets, cases.Target{Kind: cases.TargetPhone, Value: t})
		}
		c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: req, Decision: &cases.Decision{Outcome: cases.OutcomeApprove,
			Allowed: []cases.Allowed{{Category: cases.MessagePairs, Rule: "US-PEN-REGISTER", Window: w, Prospective: true}}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Review(ctx, rev, c.Number, cases.StatusApproved, ""); err != nil {
			b.Fatal(err)
		}
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	var buf bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 1))
	const lines = 100_000
	for i := 0; i < lines; i++ {
		from := others[rng.IntN(len(others))]
		if rng.IntN(20) == 0 {
			from = targets[rng.IntN(len(targets))]
		}
		at := now.Add(time.Duration(rng.Int64N(int64(2*time.Hour))) - time.Hour).Truncate(time.Millisecond)
		fmt.Fprintf(&buf, `{"from":"%s","to":"%s","at":"%s","kind":"text"}`+"\n", from, others[rng.IntN(len(others))], at.Format(time.RFC3339Nano))
	}
	data := buf.Bytes()
	const repeat = 10 // a million events per request
	b.SetBytes(int64(len(data)) * repeat)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/collect/events", io.MultiReader(repeatBytes(data, repeat)...))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var ans metadata.CollectResult
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err != nil || ans.Received != lines*repeat || ans.Kept == 0 {
			b.Fatalf("%d %+v %v", resp.StatusCode, ans, err)
		}
	}
	b.ReportMetric(float64(b.N*lines*repeat)/b.Elapsed().Seconds(), "events/s")
}

func repeatBytes(data []byte, n int) []io.Reader {
	rs := make([]io.Reader, n)
	for i := range rs {
		rs[i] = bytes.NewReader(data)
	}
	return rs
}
