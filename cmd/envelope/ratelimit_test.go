package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases/store/storetest"
	"envelope/web"
)

// TestRateLimitsOnThreeInstances starts three real `envelope serve` on one
// PostgreSQL and spreads one client's requests over them round-robin, as a
// load balancer does (issue 18). The API admits the client's burst between
// the three, not three times it; the sign-in form checks one address's
// LoginBurst wrong passwords in all (plus what the throttle earned back
// while the test ran), not LoginBurst on each. With a bucket per instance,
// as before, 15 API requests and 30 sign-ins passed.
func TestRateLimitsOnThreeInstances(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	token := addUser(t, dsn, "ada@example.org", "admin")
	addUser(t, dsn, guessedEmail, "intake")
	const burst = 5
	keys := filepath.Join(t.TempDir(), "keys") // one signing key for the deployment
	var bases []string
	for range 3 {
		// One request every 1,000 s once the burst is spent: none while the test runs.
		p := startServe(t, dsn, t.TempDir(), "--keys", keys, "--api-rate", "0.001", "--api-burst", "5")
		bases = append(bases, p.base)
	}
	hc := newHTTPClient(3)

	api := map[int]int{}
	for i := range 30 {
		c := &apiClient{hc: hc, base: bases[i%3], token: token}
		r, err := c.get("/me")
		if err != nil {
			t.Fatal(err)
		}
		api[r.status]++
		if r.status == http.StatusTooManyRequests && !strings.Contains(string(r.body), "too many requests") {
			t.Errorf("429 from %s: %s", c.base, r)
		}
	}
	if api[http.StatusOK] != burst || api[http.StatusTooManyRequests] != 30-burst {
		t.Errorf("30 API requests over three instances: %v; want %d admitted in all", api, burst)
	}

	form := url.Values{"email": {guessedEmail}, "password": {"not the password"}}.Encode()
	signIns := map[int]int{}
	start := time.Now()
	for i := range 3 * web.LoginBurst {
		resp, err := hc.Post(bases[i%3]+"/login", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		signIns[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && (resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "Too many sign-ins")) {
			t.Errorf("429 from %s without Retry-After or the page's message", bases[i%3])
		}
	}
	// The throttle gives one attempt back every LoginEvery: at most
	// this many more may have been checked while the sign-ins were sent.
	earned := int(time.Since(start) / web.LoginEvery)
	if checked := signIns[http.StatusUnauthorized]; checked < web.LoginBurst || checked > web.LoginBurst+earned ||
		checked+signIns[http.StatusTooManyRequests] != 3*web.LoginBurst {
		t.Errorf("%d wrong passwords over three instances: %v; want %d checked in all (+%d earned back)", 3*web.LoginBurst, signIns, web.LoginBurst, earned)
	}
}
