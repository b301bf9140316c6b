package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

// instances starts n servers on one PostgreSQL database, as n `envelope
// serve` behind a load balancer: the fixture's, and n-1 more, each on its
// own store.DB (its own connection pool), each listening on a real socket.
// It returns the fixture (its users and tokens) and the servers' URLs.
func instances(t *testing.T, n int, limit RateLimit) (*portal, []*Server, []string) {
	t.Helper()
	p := newPortal(t, storetest.Postgres(t))
	srvs := []*Server{p.srv}
	for range n - 1 {
		db, err := store.Open(ctx, p.db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		srvs = append(srvs, New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil))))
	}
	var bases []string
	for _, s := range srvs {
		s.APILimit = limit
		ts := httptest.NewServer(s)
		t.Cleanup(ts.Close)
		bases = append(bases, ts.URL)
	}
	return p, srvs, bases
}

// TestAPIRateLimitSharedByInstances: one token's requests, sent at once
// from six goroutines spread round-robin over three instances on one
// PostgreSQL, are admitted exactly the burst between them, not three
// times it; the rest are 429 with Retry-After and the JSON error. With a
// bucket per instance (as before issue 18's fix) 21 of the 42 passed.
func TestAPIRateLimitSharedByInstances(t *testing.T) {
	const burst = 7
	p, _, bases := instances(t, 3, RateLimit{Every: time.Hour, Burst: burst}) // no refill while the test runs
	token := p.tokens[cases.RoleReviewer]
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 7 {
				req, _ := http.NewRequest("GET", bases[(g+i)%len(bases)]+"/api/v1/me", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var body struct{ Error string }
				decodeErr := json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
					if secs < 3000 || decodeErr != nil || !strings.Contains(body.Error, "too many requests") {
						t.Errorf("429 with Retry-After %q and %q (%v)", resp.Header.Get("Retry-After"), body.Error, decodeErr)
					}
				}
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if statuses[http.StatusOK] != burst || statuses[http.StatusTooManyRequests] != 42-burst {
		t.Fatalf("42 requests over 3 instances: %v; want %d admitted in all", statuses, burst)
	}
	// Another client's bucket is its own, on every instance.
	for _, base := range bases {
		req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+p.tokens[cases.RoleIntake])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("another token on %s: %d", base, resp.StatusCode)
		}
	}
}

// TestSignInThrottleSharedByInstances: wrong passwords from one address,
// round-robin over three instances and over both portals (staff and
// agency), get LoginBurst tries in all; the rest are 429 with the page's
// message, the password unchecked. Before, each instance gave LoginBurst.
func TestSignInThrottleSharedByInstances(t *testing.T) {
	defer func(e time.Duration) { LoginEvery = e }(LoginEvery)
	LoginEvery = time.Hour // no refill while the test runs
	p, _, bases := instances(t, 3, RateLimit{})
	statuses := map[int]int{}
	for i := range 3 * LoginBurst {
		path := []string{"/login", "/agency/login"}[i%2]
		c := &officerClient{t: t, base: bases[i%len(bases)]}
		resp, body := c.post(path, url.Values{"email": {p.emails[cases.RoleReviewer]}, "password": {"wrong"}})
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && (resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many sign-ins")) {
			t.Errorf("%s on %s: 429 with Retry-After %q", path, c.base, resp.Header.Get("Retry-After"))
		}
	}
	if statuses[http.StatusUnauthorized] != LoginBurst || statuses[http.StatusTooManyRequests] != 2*LoginBurst {
		t.Fatalf("%d sign-ins over 3 instances: %v; want %d checked in all", 3*LoginBurst, statuses, LoginBurst)
	}
}

// TestRateLimitsWhenTheBucketsFail: should the shared buckets not answer
// (here their table is gone), a sign-in is refused, 503 with Retry-After
// and a page that says so, the password unchecked (fail closed); the API
// falls back on this instance's own buckets, which still limit (fail to
// the per-instance limit, not open). Each failure is counted in
// envelope_ratelimit_errors_total.
func TestRateLimitsWhenTheBucketsFail(t *testing.T) {
	p, srvs, bases := instances(t, 1, RateLimit{Every: time.Hour, Burst: 2})
	if _, err := p.db.Writer().Exec("DROP TABLE rate_buckets"); err != nil {
		t.Fatal(err)
	}
	c := &officerClient{t: t, base: bases[0]}
	for _, path := range []string{"/login", "/agency/login"} {
		resp, body := c.post(path, url.Values{"email": {p.emails[cases.RoleReviewer]}, "password": {"wrong"}})
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != signInRetry || !strings.Contains(body, "Sign-in is unavailable") {
			t.Errorf("%s with the buckets gone: %d, Retry-After %q", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		w := p.do(cases.RoleReviewer, "GET", "/api/v1/me", nil, nil)
		if w.Code != want {
			t.Errorf("API request %d with the buckets gone: %d, want %d", i+1, w.Code, want)
		}
	}
	w := httptest.NewRecorder()
	srvs[0].ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range []string{`envelope_ratelimit_errors_total{limit="api"} 3`, `envelope_ratelimit_errors_total{limit="sign-in"} 2`} {
		if !strings.Contains(w.Body.String(), line) {
			t.Errorf("metrics lack %s", line)
		}
	}
	var failed int
	if err := p.db.Reader().Get(&failed, p.db.Reader().Rebind("SELECT failed_logins FROM users WHERE email = ?"), p.emails[cases.RoleReviewer]); err != nil || failed != 0 {
		t.Errorf("a sign-in refused for the buckets counted against the account: %d (%v)", failed, err)
	}
}

// TestSharedLimiterRemembersRefusals: once the database refused a client
// and said until when, the instance refuses it until then without asking
// again (here the table is dropped meanwhile, and no error comes back),
// and asks again from that time on.
func TestSharedLimiterRemembersRefusals(t *testing.T) {
	db := storetest.Postgres(t)
	l := newLimiter(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, shared := l.(*sharedLimiter); !shared {
		t.Fatalf("on PostgreSQL the limiter is %T", l)
	}
	t0 := time.Now()
	rl := RateLimit{Every: 200 * time.Millisecond, Burst: 1}
	if ok, _, err := l.Take(ctx, limitAPI, "token:a", t0, rl); !ok || err != nil {
		t.Fatalf("first request: %v %v", ok, err)
	}
	if ok, wait, err := l.Take(ctx, limitAPI, "token:a", t0, rl); ok || wait != rl.Every || err != nil {
		t.Fatalf("past the burst: %v, wait %v, %v", ok, wait, err)
	}
	if _, err := db.Writer().Exec("DROP TABLE rate_buckets"); err != nil {
		t.Fatal(err)
	}
	if ok, wait, err := l.Take(ctx, limitAPI, "token:a", t0.Add(50*time.Millisecond), rl); ok || wait != 150*time.Millisecond || err != nil {
		t.Fatalf("within the refusal: %v, wait %v, %v; want refused from memory", ok, wait, err)
	}
	if _, _, err := l.Take(ctx, limitAPI, "token:b", t0, rl); err == nil {
		t.Fatal("another client was answered without the database")
	}
	if _, _, err := l.Take(ctx, limitAPI, "token:a", t0.Add(rl.Every), rl); err == nil {
		t.Fatal("past the refusal the database was not asked")
	}
}

// TestSharedLimiterPrunes: an instance deletes the full buckets at most
// once every pruneEvery, in a check that finds it due; a bucket still
// spending stays.
func TestSharedLimiterPrunes(t *testing.T) {
	db := storetest.Postgres(t)
	l := newLimiter(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rl := RateLimit{Every: time.Second, Burst: 2}
	rows := func() (n int) {
		t.Helper()
		if err := db.Reader().Get(&n, "SELECT COUNT(*) FROM rate_buckets"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t0 := time.Now()
	for _, c := range []string{"addr:192.0.2.1", "addr:192.0.2.2"} { // the first check prunes (nothing yet)
		if ok, _, err := l.Take(ctx, limitSignIn, c, t0, rl); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if ok, _, err := l.Take(ctx, limitSignIn, "addr:192.0.2.3", t0.Add(pruneEvery/2), RateLimit{Every: time.Hour, Burst: 2}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if n := rows(); n != 3 {
		t.Fatalf("%d buckets before a prune is due; want 3", n)
	}
	if ok, _, err := l.Take(ctx, limitSignIn, "addr:192.0.2.3", t0.Add(pruneEvery), RateLimit{Every: time.Hour, Burst: 2}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if n := rows(); n != 1 {
		t.Fatalf("%d buckets after the prune; want the one still spending", n)
	}
}
