package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/policy"
	"envelope/policy/clock"
)

// TestPolicyActivatedOnOneInstanceDecidesOnAll starts two real `envelope
// serve` processes on one database, activates a policy through the API of
// the first, and checks the second reports it and decides under it
// within a second (issue 18: without the follower, B decided with the old
// policy until it was restarted).
func TestPolicyActivatedOnOneInstanceDecidesOnAll(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		admin := addUser(t, dsn, "ada@example.org", "admin")
		dir := t.TempDir()
		a, b := startServe(t, dsn, dir), startServe(t, dsn, dir)
		hc := newHTTPClient(2)
		checkPolicyFollowed(t, &apiClient{hc: hc, base: a.base, token: admin}, &apiClient{hc: hc, base: b.base, token: admin}, time.Second)
	})
}

// checkPolicyFollowed activates, through onA (an admin's client), the
// default policy with a subpoena also reaching IP logs, and checks that
// the instance of onB reports it and decides under it within the given
// time.
func checkPolicyFollowed(t *testing.T, onA, onB *apiClient, within time.Duration) {
	t.Helper()
	src := string(policy.Default().Source())
	wider := strings.Replace(src, "    rule: US-SUBPOENA\n    allow: [basic_subscriber_info]", "    rule: US-SUBPOENA\n    allow: [basic_subscriber_info, ip_logs]", 1)
	if wider == src {
		t.Fatal("the default policy's subpoena entry moved; update the test")
	}
	want, err := policy.Load([]byte(wider))
	if err != nil {
		t.Fatal(err)
	}
	request, err := os.ReadFile(filepath.Join("..", "..", "testdata", "requests", "subpoena.json"))
	if err != nil {
		t.Fatal(err)
	}
	ipLogsAllowed := func(c *apiClient) bool {
		r, err := c.do(http.MethodPost, "/policy/check", request, "")
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("policy check: %v %s", err, r)
		}
		var d struct {
			Allowed []struct{ Category string } `json:"allowed"`
		}
		if err := r.decode(&d); err != nil {
			t.Fatal(err)
		}
		for _, al := range d.Allowed {
			if al.Category == "ip_logs" {
				return true
			}
		}
		return false
	}
	if ipLogsAllowed(onB) {
		t.Fatal("the policy in force already gives a subpoena IP logs")
	}
	if r, err := onA.do(http.MethodPut, "/policy", []byte(wider), "application/yaml"); err != nil || r.status != http.StatusOK {
		t.Fatalf("activate on %s: %v %s", onA.base, err, r)
	}
	waitFollowed(t, onB, "/policy", want.Version(), within)
	if !ipLogsAllowed(onB) {
		t.Error("B reports the new version but decides under the old policy")
	}
}

// waitFollowed waits until c's instance reports version at path (the
// policy's or the clock rules'), and fails unless it did within the
// given time of the activation just answered (the followers poll every
// 250 ms).
func waitFollowed(t *testing.T, c *apiClient, path, version string, within time.Duration) {
	t.Helper()
	activated := time.Now()
	for {
		var got struct{ Version string }
		r, err := c.get(path)
		if err != nil || r.decode(&got) != nil {
			t.Fatalf("%s on %s: %v %s", path, c.base, err, r)
		}
		if got.Version == version {
			break
		}
		if time.Since(activated) > within {
			t.Fatalf("%s still reports %s %v after the activation of %s on another instance", c.base, got.Version, within, version)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s in force on %s %v after the activation", path, c.base, time.Since(activated).Round(time.Millisecond))
}

// TestInstanceWithItsOwnKeyIsRefused: a second instance whose keys folder
// holds another key than the deployment's refuses to start, naming both
// fingerprints (issue 18: each instance made its own signing key, so a
// package verified or not depending on which instance built it); one with
// the deployment's keys starts; after `signing-key rotate` the rotated
// folder is the deployment's.
func TestInstanceWithItsOwnKeyIsRefused(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		shared, own := t.TempDir(), t.TempDir()
		startServe(t, dsn, shared).stop()
		if code, out, errOut := cli(t, dsn, "", "serve", "--addr", "127.0.0.1:0", "--keys", filepath.Join(own, "keys"), "--packages", packagesDir(own)); code == 0 ||
			!strings.Contains(errOut, "signing_key_sha256") || !strings.Contains(errOut, "same keys folder") {
			t.Fatalf("serve with its own key: exit %d\n%s\n%s", code, out, errOut)
		}
		startServe(t, dsn, shared).stop()
		if code, _, errOut := cli(t, dsn, "", "signing-key", "rotate", "--keys", filepath.Join(shared, "keys")); code != 0 {
			t.Fatalf("rotate: %s", errOut)
		}
		startServe(t, dsn, shared).stop()
	})
}

// TestClockRulesActivatedOnOneInstanceAreInForceOnAll: the clock rules'
// sibling of the policy test above (before, B computed deadlines under the
// old rules until it was restarted).
func TestClockRulesActivatedOnOneInstanceAreInForceOnAll(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		admin := addUser(t, dsn, "ada@example.org", "admin")
		dir := t.TempDir()
		a, b := startServe(t, dsn, dir), startServe(t, dsn, dir)
		hc := newHTTPClient(2)
		onA := &apiClient{hc: hc, base: a.base, token: admin}
		onB := &apiClient{hc: hc, base: b.base, token: admin}
		src := string(clock.Default().Source())
		shorter := strings.Replace(src, "    period: 8h\n", "    period: 6h\n", 1)
		want, err := clock.Load([]byte(shorter))
		if shorter == src || err != nil {
			t.Fatalf("the default clock rules' 8-hour period moved (%v); update the test", err)
		}
		if r, err := onA.do(http.MethodPut, "/clock", []byte(shorter), "application/yaml"); err != nil || r.status != http.StatusOK {
			t.Fatalf("activate on A: %v %s", err, r)
		}
		waitFollowed(t, onB, "/clock", want.Version(), time.Second)
	})
}
