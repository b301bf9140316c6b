package web

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// serveReal serves h on a loopback port with the server's limits, as
// envelope serve does, and returns its address.
func serveReal(t *testing.T, h http.Handler, maxConns int) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0", maxConns)
	if err != nil {
		t.Fatal(err)
	}
	hs := HTTPServer(h)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// timed sends GET url and fails the test unless it answers status within
// limit.
func timed(t *testing.T, client *http.Client, url string, status int, limit time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if d := time.Since(start); resp.StatusCode != status || d > limit {
		t.Fatalf("GET %s: %d after %v (want %d within %v)", url, resp.StatusCode, d, status, limit)
	}
}

// slowEnv sets how many slow connections TestSlowConnectionsDoNotStarve
// opens (default 2,000).
const slowEnv = "ENVELOPE_ABUSE_SLOW"

// slowConnections is the number slowEnv asks for. Client and server ends
// are both in the test's process, so each costs two file descriptors: the
// soft limit is raised to the hard one, and a number past it is refused
// naming the limit (issue 18's 20,000 need ulimit -n 41000).
func slowConnections(t *testing.T) int {
	n := 2000
	if v := os.Getenv(slowEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of connections", slowEnv, v)
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) // best effort: checked below
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if need := uint64(2*n + 500); lim.Cur < need {
		t.Fatalf("%d slow connections need %d file descriptors in this process; the limit is %d (raise ulimit -n)", n, need, lim.Cur)
	}
	return n
}

// Thousands of connections that never finish their headers (slow loris)
// neither starve a normal client, whose sign-in page keeps answering, nor
// stay open past ReadHeaderTimeout. Issue 18 saw 20,000 of them exhaust
// the file descriptors; the test uses 2,000 (and a shorter timeout), or
// as many as ENVELOPE_ABUSE_SLOW says.
func TestSlowConnectionsDoNotStarve(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of connections")
	}
	defer func(d time.Duration) { ReadHeaderTimeout = d }(ReadHeaderTimeout)
	ReadHeaderTimeout = 2 * time.Second
	slow := slowConnections(t)
	p := newPortal(t, storetest.SQLite(t))
	addr := serveReal(t, p.srv, 0)
	conns := make([]net.Conn, 0, slow)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", len(conns), err)
		}
		fmt.Fprintf(c, "GET /login HTTP/1.1\r\nHost: envelope\r\nX-Slow: ") // and never the rest
		conns = append(conns, c)
	}
	opened := time.Now()
	client := &http.Client{Timeout: 5 * time.Second}
	for range 20 {
		timed(t, client, "http://"+addr+"/login", http.StatusOK, 3*time.Second)
	}
	// The server gives up on each of them once ReadHeaderTimeout passed.
	deadline := opened.Add(ReadHeaderTimeout + 5*time.Second)
	for i, c := range conns {
		c.SetReadDeadline(deadline)
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("slow connection %d still open %v after it was opened: %v", i, time.Since(opened), err)
		}
	}
}

// The cap on open connections holds: past it, connections wait to be
// accepted instead of each costing a descriptor and a goroutine.
func TestConnectionCap(t *testing.T) {
	var open, peak atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	ln, err := Listen("127.0.0.1:0", 50)
	if err != nil {
		t.Fatal(err)
	}
	hs := HTTPServer(h)
	hs.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			if n := open.Add(1); n > peak.Load() {
				peak.Store(n)
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	go hs.Serve(ln)
	defer hs.Close()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 200 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(300 * time.Millisecond) // let the server accept what it will
	if n := peak.Load(); n != 50 {
		t.Fatalf("%d connections accepted at once, cap 50", n)
	}
}

// Four clients that ask for a large list and never read it do not hold
// the admission slots: the slot is given back before the body is written,
// so everyone else's reads answer. Issue 18 saw them freeze every other
// user's reads for over 15 s.
func TestNonReadingClientsReleaseSlots(t *testing.T) {
	defer func(d time.Duration) { AdmitWait = d }(AdmitWait)
	AdmitWait = time.Minute // a 503 would hide the freeze
	a := newAdmission(2)
	big := strings.Repeat("case row,", 32<<20/9) // larger than any socket buffer
	var served atomic.Int64
	r := gin.New()
	r.Use(a.admit())
	r.GET("/cases", func(c *gin.Context) {
		if c.Query("big") != "" {
			served.Add(1)
			c.String(http.StatusOK, big)
			return
		}
		c.String(http.StatusOK, "small")
	})
	addr := serveReal(t, r, 0)
	for i := range 4 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(4096)
		fmt.Fprintf(c, "GET /cases?big=%d HTTP/1.1\r\nHost: envelope\r\n\r\n", i)
		// Read only the status line: the rest is never read.
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
			t.Fatalf("large list %d: %q %v", i, line, err)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for range 20 {
		timed(t, client, "http://"+addr+"/cases", http.StatusOK, 3*time.Second)
	}
	if served.Load() != 4 {
		t.Fatalf("%d large lists rendered", served.Load())
	}
}

// A request that waited in line longer than AdmitWait is answered 503 with
// Retry-After rather than kept hanging.
func TestAdmissionWaitTooLong(t *testing.T) {
	defer func(d time.Duration) { AdmitWait = d }(AdmitWait)
	AdmitWait = 100 * time.Millisecond
	a := newAdmission(1)
	hold := make(chan struct{})
	entered := make(chan struct{})
	r := gin.New()
	r.Use(a.admit())
	r.GET("/cases", func(c *gin.Context) {
		if c.Query("hold") != "" {
			close(entered)
			<-hold
		}
		c.String(http.StatusOK, "ok")
	})
	addr := serveReal(t, r, 0)
	go http.Get("http://" + addr + "/cases?hold=1")
	<-entered
	defer close(hold)
	resp, err := http.Get("http://" + addr + "/cases")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a request that waited too long: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// 30 wrong passwords sent in parallel to the sign-in form, each from its
// own address (behind the trusted proxy, so the per-address throttle
// lets each through), lock the account after store.MaxFailedLogins of
// them: only that many passwords were checked, every answer was the same
// 401, and the right password afterwards is refused. Issue 18 saw all 30
// checked. On PostgreSQL, where sign-ins run at once (SQLite's writes are
// serial; store.TestParallelWrongPasswordsLock covers both engines):
// every answer costs a password hash, locked or not, so twice is slow.
func TestParallelWrongPasswordsOverHTTP(t *testing.T) {
	db := storetest.Postgres(t)
	p := newPortal(t, db)
	p.srv.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	addr := serveReal(t, p.srv, 0)
	email := p.emails[cases.RoleReviewer]
	signIn := func(password string, from int) int {
		req, _ := http.NewRequest("POST", "http://"+addr+"/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", from))
		resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
		if err != nil {
			t.Error(err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	const guesses = 30
	var wg sync.WaitGroup
	codes := make(chan int, guesses)
	for i := range guesses {
		wg.Go(func() { codes <- signIn(fmt.Sprintf("wrong password %d", i), i+1) })
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusUnauthorized {
			t.Errorf("a wrong password answered %d, want 401", code)
		}
	}
	if code := signIn(portalPassword, 200); code != http.StatusUnauthorized {
		t.Fatalf("the right password after %d parallel guesses: %d, want 401 (locked)", guesses, code)
	}
	u, err := db.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, "user", strconv.FormatInt(u.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range evs {
		if e.Action == "login.fail" {
			checked++
		}
	}
	if checked != store.MaxFailedLogins {
		t.Errorf("%d passwords checked, want %d", checked, store.MaxFailedLogins)
	}
}
