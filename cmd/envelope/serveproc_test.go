package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"envelope/exporter"
)

// The crash and soak tests run `envelope serve` as a real child process,
// so that SIGKILL stops it the way a crash or the OOM killer would: no
// deferred function, no graceful shutdown. The child is this test binary
// itself, told by asEnvelopeEnv to behave as the envelope command: it has
// the same code as `go build ./cmd/envelope` without a second build.

// asEnvelopeEnv makes the test binary run as the envelope command.
const asEnvelopeEnv = "ENVELOPE_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(asEnvelopeEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// serveProc is a running `envelope serve` child process.
type serveProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	log  string // its stderr: the request log
	done chan struct{}
	err  error // the exit, once done is closed
}

// startServe starts `envelope serve` on dsn with its keys and packages in
// dir (extra flags after those; a flag given again wins), and returns once
// it is listening.
func startServe(t *testing.T, dsn, dir string, extra ...string) *serveProc {
	t.Helper()
	// One log per run, so that a failure shows what this run said.
	runs, _ := filepath.Glob(filepath.Join(dir, "serve-*.log"))
	p := &serveProc{t: t, log: filepath.Join(dir, fmt.Sprintf("serve-%d.log", len(runs)+1)), done: make(chan struct{})}
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command(os.Args[0], append([]string{"serve", "--db", dsn, "--addr", "127.0.0.1:0",
		"--keys", filepath.Join(dir, "keys"), "--packages", packagesDir(dir)}, extra...)...)
	p.cmd.Env = append(os.Environ(), asEnvelopeEnv+"=1")
	p.cmd.Stderr = logf
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if errs := p.errors(); t.Failed() && errs != "" {
			t.Logf("errors the server logged:\n%s", errs)
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "serving on "); ok {
				addr <- strings.Fields(rest)[0]
				break
			}
		}
		close(addr)
		io.Copy(io.Discard, out)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			<-p.done
			t.Fatalf("serve exited before listening (%v):\n%s", p.err, p.tail())
		}
		p.base = a
	case <-time.After(2 * time.Minute): // a hang guard, not a timing check
		p.kill()
		t.Fatalf("serve did not start:\n%s", p.tail())
	}
	return p
}

func packagesDir(dir string) string { return filepath.Join(dir, "packages") }

// kill stops the server with SIGKILL, as a crash would, and waits for it.
func (p *serveProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the server to shut down (SIGTERM) and checks it exits 0.
func (p *serveProc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if p.err != nil {
		p.t.Fatalf("serve did not shut down cleanly: %v\n%s", p.err, p.tail())
	}
}

// tail is the end of the server's log, for failure messages.
func (p *serveProc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// errors returns the first error lines of the server's log: internal
// errors are logged there with the request ID that the client was shown.
func (p *serveProc) errors() string {
	b, _ := os.ReadFile(p.log)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "level=ERROR") && len(out) < 20 {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// addUser creates a user through the CLI and returns an API token for it.
func addUser(t *testing.T, dsn, email, role string) string {
	t.Helper()
	if code, _, errOut := cli(t, dsn, "", "user", "add", "--email", email, "--role", role); code != 0 {
		t.Fatalf("user add %s: %s", email, errOut)
	}
	code, out, errOut := cli(t, dsn, "", "token", "create", "--email", email)
	if code != 0 {
		t.Fatalf("token create %s: %s", email, errOut)
	}
	return strings.TrimSpace(out)
}

// listAgency adds an agency to the directory as requestFor's requests
// name it (fbi.gov, US), so that its cases are decided without the
// AGENCY-UNKNOWN finding and can be approved without a callback.
func listAgency(t *testing.T, dsn, name string) {
	t.Helper()
	if code, _, errOut := cli(t, dsn, "", "agency", "add", "--name", name, "--country", "US",
		"--domain", "fbi.gov", "--phone", "+12025550100"); code != 0 {
		t.Fatalf("agency add %s: %s", name, errOut)
	}
}

// apiClient calls the JSON API as one user.
type apiClient struct {
	hc    *http.Client
	base  string
	token string
}

// newHTTPClient returns a client that keeps a connection per concurrent
// caller alive, as a real integration would.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}}
}

// reply is one API answer.
type reply struct {
	status int
	body   []byte
}

// do sends one request; body is JSON unless contentType says otherwise.
// An error means no answer arrived (the server died, or the connection
// broke): the write may or may not have happened.
func (c *apiClient) do(method, path string, body []byte, contentType string) (reply, error) {
	req, err := http.NewRequest(method, c.base+"/api/v1"+path, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType == "" {
		contentType = "application/json"
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{resp.StatusCode, b}, nil
}

func (c *apiClient) post(path string, v any) (reply, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return reply{}, err
	}
	return c.do(http.MethodPost, path, b, "")
}

func (c *apiClient) get(path string) (reply, error) { return c.do(http.MethodGet, path, nil, "") }

// acked reports whether r acknowledges a write.
func (r reply) acked() bool { return r.status >= 200 && r.status < 300 }

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body)) }

// decode unmarshals the answer's body into v.
func (r reply) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("answer %s: %w", r, err)
	}
	return nil
}

// Serial numbers unique within the test process: targets (a phone number
// has room for a million) and everything else.
var targets, serial atomic.Int64

// requestFor builds an intake request of kind "pen_register" (a
// prospective order for message pairs, open from now: approving it opens a
// collection window for its target) or "subpoena" (historical basic
// subscriber records), with a target and a reference no other case has.
// agency varies the agency, so that several clients create new agencies at
// once.
func requestFor(kind, agency string, now time.Time) (req map[string]any, target string) {
	n := targets.Add(1)
	target = fmt.Sprintf("+14155%06d", n)
	day := 24 * time.Hour
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	req = map[string]any{
		"agency":    map[string]any{"name": agency, "country": "US", "verified_domains": []string{"fbi.gov"}},
		"requester": map[string]any{"name": "Dana Reyes", "email": "dreyes@fbi.gov"},
		"targets":   []map[string]string{{"kind": "phone", "value": target}},
		"due_at":    ts(now.Add(7 * day)),
	}
	switch kind {
	case "pen_register":
		start := now.Add(-day).Truncate(day)
		req["process"] = map[string]any{"type": "pen_register", "issuing_authority": "U.S. District Court for the Northern District of California",
			"reference": fmt.Sprintf("PR-%d", n), "issued_at": ts(start), "effective_at": ts(start), "expires_at": ts(start.Add(59 * day))}
		req["categories"] = []string{"message_pairs"}
		req["window"] = map[string]string{"from": ts(start), "to": ts(start.Add(59 * day))}
	case "subpoena":
		req["process"] = map[string]any{"type": "subpoena", "issuing_authority": "Grand Jury, Northern District of California",
			"reference": fmt.Sprintf("GJ-%d", n), "issued_at": ts(now.Add(-day))}
		req["categories"] = []string{"basic_subscriber_info"}
		req["window"] = map[string]string{"from": ts(now.Add(-180 * day)), "to": ts(now.Add(-day))}
	default:
		panic("requestFor: unknown kind " + kind)
	}
	return req, target
}

// eventsFor is an NDJSON stream of n message events from target, stamped
// now (inside the window an approval opened), each to a recipient no other
// event has, so that every kept event is exactly one stored pair.
func eventsFor(target string, n int, now time.Time) (body []byte, recipients []string) {
	var b bytes.Buffer
	for range n {
		to := fmt.Sprintf("+1999%07d", serial.Add(1))
		recipients = append(recipients, to)
		fmt.Fprintf(&b, `{"from":%q,"to":%q,"at":%q,"kind":"text"}`+"\n", target, to, now.UTC().Format(time.RFC3339Nano))
	}
	return b.Bytes(), recipients
}

// workOn calls fn with what pick chooses until stopped says so or fn
// returns false, waiting a little whenever pick has nothing yet.
func workOn[T any](stopped func() bool, pick func() (T, bool), fn func(T) bool) {
	for !stopped() {
		v, ok := pick()
		if !ok {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !fn(v) {
			return
		}
	}
}

// receive is a pick that takes what is waiting in ch, if anything.
func receive[T any](ch <-chan T) func() (T, bool) {
	return func() (T, bool) {
		select {
		case v := <-ch:
			return v, true
		default:
			var zero T
			return zero, false
		}
	}
}

// checkPackage downloads package pkg of case id through c's server and
// checks that it is whole (the recorded size and SHA-256) and, with
// verify, that it verifies with the keys folder's key.
func (c *apiClient) checkPackage(t *testing.T, id int64, pkg exporter.Package, keys string, verify bool) {
	t.Helper()
	r, err := c.get("/cases/" + strconv.FormatInt(id, 10) + "/exports/" + pkg.FileName)
	sum := sha256.Sum256(r.body)
	if err != nil || r.status != http.StatusOK || hex.EncodeToString(sum[:]) != pkg.SHA256 || int64(len(r.body)) != pkg.Size {
		t.Errorf("download %s from %s: %d %v, %d bytes, sha256 %x; recorded %d bytes, %s", pkg.FileName, c.base, r.status, err, len(r.body), sum, pkg.Size, pkg.SHA256)
		return
	}
	if !verify {
		return
	}
	path := filepath.Join(t.TempDir(), pkg.FileName)
	if err := os.WriteFile(path, r.body, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "", "", "verify", "--keys", keys, path); code != 0 {
		t.Errorf("package %s downloaded from %s does not verify: %s", pkg.FileName, c.base, errOut)
	}
}
