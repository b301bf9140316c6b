package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/exporter"
)

// The many-instance burst (issue 18's Done-when): three real `envelope
// serve` processes on one PostgreSQL, each with its own packages folder
// (only the keys folder is shared, as a deployment mounts it), each
// running the production scheduler. The soak's 50 clients, spread over
// the three, log cases, race in pairs to decide the same case through
// different instances, post collection events, add notes, export, list;
// with legal holds placed and released and wrong passwords sent. Then:
// no 5xx and no error logged by any instance; the database and its audit
// log hold exactly what the clients were told, and the log verifies;
// every package downloads and verifies through every instance; each
// scheduled production was built once; a policy activated on one
// instance decides on another within a second.

// burstEnv sets the burst's duration (a Go duration, e.g. 1m); without it
// the burst runs 12 seconds.
const burstEnv = "ENVELOPE_BURST"

// The burst's clients besides the soak's.
const (
	burstHolders  = 2 // place and release legal holds
	burstGuessers = 2 // send wrong passwords to the sign-in form
)

func TestBurstOnThreeInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three servers and 54 clients: not in -short")
	}
	dsn := storetest.PostgresDSN(t)
	d := envDuration(t, burstEnv, 12*time.Second)
	s := newSoak(t, dsn, [2]string{"sue@example.org", "supervisor"}, [2]string{"ada@example.org", "admin"})
	addUser(t, dsn, guessedEmail, "intake")
	s.mixed = true
	before := auditActions(t, dsn)

	keys := filepath.Join(t.TempDir(), "keys")
	var procs []*serveProc
	for range 3 {
		// The scheduler every second: the instances race for each pass.
		p := startServe(t, dsn, t.TempDir(), "--keys", keys, "--produce-every", "1s", "--api-rate", "0")
		procs = append(procs, p)
		s.bases = append(s.bases, p.base)
	}
	start := time.Now()
	s.run(d)
	elapsed := time.Since(start)
	// A last scheduled pass finds the pairs collected at the end.
	waitScheduled(t, dsn)
	for _, p := range procs {
		if errs := p.errors(); errs != "" {
			t.Errorf("instance %s logged errors:\n%s", p.base, errs)
		}
		// The retry keeps deadlocks from the clients; the lock order must
		// keep them from happening.
		if n := metricValue(t, p.base, "envelope_db_deadlocks_total"); n != 0 {
			t.Errorf("instance %s: %v transactions aborted for a deadlock (the lock order of cases/store is not kept)", p.base, n)
		}
	}
	s.report(elapsed)
	t.Logf("%d failed sign-ins, holds %v, %d scheduled packages", s.signIns, s.holds, countRows(t, dsn, "SELECT COUNT(*) FROM packages WHERE created_by = '"+exporter.SchedulerActor+"'"))
	if t.Failed() {
		return
	}
	s.checkCounts(dsn, before)
	if countRows(t, dsn, "SELECT COUNT(*) FROM packages WHERE created_by = '"+exporter.SchedulerActor+"'") == 0 {
		t.Error("the schedulers produced nothing: the burst did not test them")
	}
	if code, out, errOut := cli(t, dsn, "", "audit", "verify"); code != 0 {
		t.Fatalf("audit verify after the burst: %d %s %s", code, out, errOut)
	}
	checkPackagesEverywhere(t, s, keys)
	hc := newHTTPClient(2)
	onA := &apiClient{hc: hc, base: s.bases[0], token: s.tokens["ada@example.org"]}
	onB := &apiClient{hc: hc, base: s.bases[1], token: s.tokens["ada@example.org"]}
	checkPolicyFollowed(t, onA, onB, time.Second)
}

// metricValue reads one unlabelled metric from an instance's /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q", name, line)
			}
			return f
		}
	}
	t.Fatalf("%s/metrics has no %s", base, name)
	return 0
}

// guessedEmail is the account the burst's wrong passwords are sent for.
const guessedEmail = "lee@example.org"

// holder places legal holds on logged cases and releases them; a hold
// already placed (or already released) by the other holder is 409.
func (s *soak) holder(c *apiClient) {
	workOn(s.stop.Load, s.picker(func() []soakCase { return s.created }), func(sc soakCase) bool {
		path := "/cases/" + strconv.FormatInt(sc.id, 10) + "/hold"
		for _, step := range []struct{ op, method, reason string }{{"place", http.MethodPost, "litigation: Doe v. Platform"}, {"release", http.MethodDelete, "settled"}} {
			ok := http.StatusCreated
			if step.op == "release" {
				ok = http.StatusOK
			}
			r, _ := s.call(c, "hold "+step.op, step.method, path, []byte(`{"reason":"`+step.reason+`"}`), "", ok, http.StatusConflict)
			if r.status == ok {
				s.mu.Lock()
				s.holds[step.op]++
				s.mu.Unlock()
			}
		}
		return true
	})
}

// guesser sends wrong passwords to the portal's sign-in form: each is
// refused (401), or throttled (429) once the address spent its attempts.
func (s *soak) guesser(c *apiClient) {
	form := url.Values{"email": {guessedEmail}, "password": {"not the password"}}.Encode()
	for !s.stop.Load() {
		t0 := time.Now()
		resp, err := c.hc.Post(c.base+"/login", "application/x-www-form-urlencoded", strings.NewReader(form))
		status := 0
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		s.mu.Lock()
		s.ops["sign in (wrong)"] = append(s.ops["sign in (wrong)"], time.Since(t0))
		switch status {
		case http.StatusUnauthorized:
			s.signIns++
		case http.StatusTooManyRequests:
		default:
			s.fail(fmt.Sprintf("POST %s/login with a wrong password: %d %v", c.base, status, err))
		}
		s.mu.Unlock()
		if status == http.StatusTooManyRequests {
			time.Sleep(time.Second) // as a client told Retry-After would
		}
	}
}

// countRows runs a COUNT query on dsn.
func countRows(t *testing.T, dsn, query string, args ...any) int {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Reader().Get(&n, db.Reader().Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitScheduled waits until no case is due a scheduled production: the
// schedulers run every second, so it is a hang guard, not a timing check.
func waitScheduled(t *testing.T, dsn string) {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exp := &exporter.Exporter{DB: db}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		due, err := exp.Due(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 0 {
			return
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("cases %v still due a production a minute after the burst", due)
		}
	}
}

// checkPackagesEverywhere downloads every package of the burst's cases
// through every instance: each is whole and verifies, whichever instance
// built it.
func checkPackagesEverywhere(t *testing.T, s *soak, keys string) {
	t.Helper()
	hc := newHTTPClient(1)
	var listed int
	for id := range s.exportedCases {
		c := &apiClient{hc: hc, base: s.bases[0], token: s.tokens["aud@example.org"]}
		var ans struct {
			Packages []exporter.Package `json:"packages"`
		}
		r, err := c.get("/cases/" + strconv.FormatInt(id, 10) + "/exports")
		if err != nil || r.status != http.StatusOK || r.decode(&ans) != nil {
			t.Fatalf("list packages of %d: %v %v", id, r, err)
		}
		for _, pkg := range ans.Packages {
			listed++
			for i, base := range s.bases {
				c := &apiClient{hc: hc, base: base, token: s.tokens["aud@example.org"]}
				// verify runs once a package: the other downloads must
				// be the same bytes (the recorded SHA-256).
				c.checkPackage(t, id, pkg, keys, i == 0)
			}
		}
	}
	t.Logf("%d packages downloaded through each of %d instances", listed, len(s.bases))
}
