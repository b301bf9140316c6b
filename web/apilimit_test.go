package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// Each API client (a token, or an address without one) gets its burst,
// then 429 with Retry-After and a JSON error, before its token is even
// looked up; another client is not held up.
func TestAPIRateLimitPerClient(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.srv.APILimit = RateLimit{Every: time.Hour, Burst: 3} // no refill while the test runs
	for i := range 3 {
		if w := f.do(cases.RoleReviewer, "GET", "/api/v1/me", nil, nil); w.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, w.Code)
		}
	}
	var body struct {
		Error string `json:"error"`
	}
	w := f.do(cases.RoleReviewer, "GET", "/api/v1/me", nil, &body)
	secs, _ := strconv.Atoi(w.Header().Get("Retry-After"))
	if w.Code != http.StatusTooManyRequests || secs < 3000 || secs > 3601 || !strings.Contains(body.Error, "too many requests") {
		t.Fatalf("past the burst: %d, Retry-After %q, %q", w.Code, w.Header().Get("Retry-After"), body.Error)
	}
	if w := f.do(cases.RoleIntake, "GET", "/api/v1/me", nil, nil); w.Code != http.StatusOK {
		t.Errorf("another token: %d", w.Code)
	}
	// Without a token the client is its address.
	anon := func(addr string) int {
		req := httptest.NewRequest("GET", "/api/v1/cases", nil)
		req.RemoteAddr = addr
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		if w.Code == http.StatusTooManyRequests {
			var e map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Header().Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After or JSON: %v %s", err, w.Body)
			}
		}
		return w.Code
	}
	for i := range 3 {
		if code := anon("198.51.100.7:1000"); code != http.StatusUnauthorized {
			t.Fatalf("tokenless request %d: %d", i+1, code)
		}
	}
	if code := anon("198.51.100.7:1001"); code != http.StatusTooManyRequests {
		t.Errorf("tokenless past the burst: %d", code)
	}
	if code := anon("198.51.100.8:1000"); code != http.StatusUnauthorized {
		t.Errorf("another address: %d", code)
	}
	// The portal has its own limits (sign-in throttle, admission).
	req := httptest.NewRequest("GET", "/login", nil)
	req.RemoteAddr = "198.51.100.7:1002"
	w = httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Errorf("the sign-in page of a limited address: %d", w.Code)
	}
}

// A client's bucket fills again at the rate: one request every Every
// once the burst is spent (the clock is the throttle's argument).
func TestThrottleRefills(t *testing.T) {
	var th throttle[string]
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 2 {
		if ok, _ := th.allow("c", t0, time.Second, 2); !ok {
			t.Fatalf("burst request %d refused", i+1)
		}
	}
	ok, wait := th.allow("c", t0, time.Second, 2)
	if ok || wait != time.Second {
		t.Fatalf("past the burst: %v, wait %v", ok, wait)
	}
	if ok, _ := th.allow("c", t0.Add(time.Second), time.Second, 2); !ok {
		t.Error("refused after the wait it was told")
	}
	if ok, _ := th.allow("c", t0.Add(time.Second), time.Second, 2); ok {
		t.Error("one wait earned two requests")
	}
}

// A token is one client however its header spells it: the API takes
// "Bearer  TOKEN" (any run of spaces before the token) as TOKEN, so the
// limit must too, or each spelling would be a bucket of its own and one
// token could send its burst once per extra space.
func TestAPIRateLimitTokenSpellings(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.srv.APILimit = RateLimit{Every: time.Hour, Burst: 3} // no refill while the test runs
	codes := map[int]int{}
	for i := range 6 {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+strings.Repeat(" ", i)+f.tokens[cases.RoleReviewer])
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		codes[w.Code]++
	}
	if codes[http.StatusOK] != 3 || codes[http.StatusTooManyRequests] != 3 {
		t.Fatalf("one token spelt six ways: %v; want 3 admitted and 3 refused", codes)
	}
}

// A token that is no API token earns no bucket of its own: a client
// sending a new made-up token with each request was a new client each
// time, and never limited. A request whose token is refused is counted
// against its address, as a request without a token is; once the address
// has spent its burst, its made-up tokens are answered 429 before they are
// looked up. A real token from another address is not held up.
func TestAPIRateLimitUnknownTokens(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.srv.APILimit = RateLimit{Every: time.Hour, Burst: 3} // no refill while the test runs
	send := func(addr, token string) int {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.RemoteAddr = addr
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After: %s", w.Body)
		}
		return w.Code
	}
	codes := map[int]int{}
	for i := range 8 {
		codes[send("198.51.100.20:1000", fmt.Sprintf("made-up-%d", i))]++
	}
	if codes[http.StatusUnauthorized] != 3 || codes[http.StatusTooManyRequests] != 5 {
		t.Fatalf("eight made-up tokens from one address: %v; want 3 refused as unknown, then 429", codes)
	}
	if code := send("198.51.100.21:1000", f.tokens[cases.RoleReviewer]); code != http.StatusOK {
		t.Errorf("a real token from another address: %d", code)
	}
}
