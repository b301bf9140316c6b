package web

import (
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// Admission: at most a few page renders run at once, and the rest wait in
// line, first come first served.
//
// Without it, 50 clients meant 50 requests running at once, most of them
// inside SQLite (C code on an OS thread of its own). The kernel time-slices
// that many threads in turns of milliseconds, and database/sql gives a
// freed connection to a random waiter: most pages took 10-20 ms but one in a
// hundred waited 120-400 ms (docs/performance.md). A Go channel wakes its
// waiters in order, so queued requests are served in arrival order and each
// runs on a free core: the wait is the queue ahead of it, evenly shared.

// admission is a first-come-first-served limit on concurrent requests.
type admission struct {
	slots   chan struct{}
	waiting atomic.Int64 // requests in line: for tests and curiosity
	onWait  func(d time.Duration, outcome string)
}

func newAdmission(n int) *admission { return &admission{slots: make(chan struct{}, n)} }

// admitSlots is how many requests run at once: one per core (at least
// two). Reads find their pages in memory, so a request rarely leaves its
// core idle; with two per core the 99th percentile was 10-15 ms worse.
func admitSlots() int { return max(2, runtime.GOMAXPROCS(0)) }

// limited says whether a request waits its turn: reads that render a page
// or a JSON answer. Writes are serialised by the database anyway, and
// downloads (packages, documents, report files) would hold a slot for as
// long as the client takes to read them.
func limited(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/static/"), p == "/healthz", p == "/readyz", p == "/metrics":
		return false
	case strings.Contains(p, "/exports/"), strings.HasSuffix(p, "/document"):
		return false
	case strings.Contains(p, "/reports/") && (r.URL.Query().Get("format") != "" ||
		strings.HasSuffix(p, "/csv") || strings.HasSuffix(p, "/pdf") || strings.HasSuffix(p, ".csv")):
		return false
	}
	return true
}

// AdmitWait is how long a request waits in line for a slot before it is
// answered 503 with Retry-After: past it the client is better told to come
// back than kept hanging while the line grows behind it.
var AdmitWait = 10 * time.Second

// admitRetryAfter is the Retry-After, in seconds, of that 503.
const admitRetryAfter = "2"

// admit is the middleware: a limited request takes a slot, or waits in
// line for one, and gives it back once its response is rendered, before
// the body is written (admitbuffer.go). A client that goes away while
// waiting leaves the line; one that waited AdmitWait is answered 503.
func (a *admission) admit() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !limited(c.Request) {
			c.Next()
			return
		}
		start := time.Now()
		select {
		case a.slots <- struct{}{}:
		default:
			a.waiting.Add(1)
			t := time.NewTimer(AdmitWait)
			select {
			case a.slots <- struct{}{}:
				a.waiting.Add(-1)
				t.Stop()
			case <-t.C:
				a.waiting.Add(-1)
				a.observe(time.Since(start), "timeout")
				c.Header("Retry-After", admitRetryAfter)
				c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "the server is busy; try again in a few seconds"})
				return
			case <-c.Request.Context().Done():
				a.waiting.Add(-1)
				t.Stop()
				a.observe(time.Since(start), "cancelled")
				c.AbortWithStatus(StatusClientClosed) // the client closed the request; nothing is sent
				return
			}
		}
		a.observe(time.Since(start), "admitted")
		if streamed(c.Request) {
			defer func() { <-a.slots }()
			c.Next()
			return
		}
		bw := newBufferedWriter(c.Writer)
		c.Writer = bw
		done := false
		defer func() {
			if !done { // a panic: recoverJSON answers on the real writer
				c.Writer = bw.ResponseWriter
				<-a.slots
			}
		}()
		c.Next()
		done = true
		c.Writer = bw.ResponseWriter
		<-a.slots
		bw.send()
	}
}

// observe tells the metrics how long a request waited for a slot.
func (a *admission) observe(d time.Duration, outcome string) {
	if a.onWait != nil {
		a.onWait(d, outcome)
	}
}

// streamed says whether a limited request's answer is written as it is
// made rather than kept in memory: the portal's CSV exports (up to
// maxCSVRows rows) would cost their whole size in memory. They hold their
// slot until written, as every read did before.
func streamed(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".csv") }
