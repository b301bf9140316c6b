package web

import (
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"

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
	case strings.HasPrefix(p, "/static/"), p == "/healthz":
		return false
	case strings.Contains(p, "/exports/"), strings.HasSuffix(p, "/document"):
		return false
	case strings.Contains(p, "/reports/") && (r.URL.Query().Get("format") != "" ||
		strings.HasSuffix(p, "/csv") || strings.HasSuffix(p, "/pdf") || strings.HasSuffix(p, ".csv")):
		return false
	}
	return true
}

// admit is the middleware: a limited request takes a slot, or waits in
// line for one, and gives it back when it is answered. A client that goes
// away while waiting leaves the line.
func (a *admission) admit() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !limited(c.Request) {
			c.Next()
			return
		}
		select {
		case a.slots <- struct{}{}:
		default:
			a.waiting.Add(1)
			select {
			case a.slots <- struct{}{}:
				a.waiting.Add(-1)
			case <-c.Request.Context().Done():
				a.waiting.Add(-1)
				c.AbortWithStatus(499) // the client closed the request; nothing is sent
				return
			}
		}
		defer func() { <-a.slots }()
		c.Next()
	}
}
