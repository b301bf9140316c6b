package web

import (
	"container/list"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limits of the HTTP server (envelope serve). Without them 20,000 slow
// connections that never finished their headers exhausted the process's
// file descriptors (issue 18).
var (
	// ReadHeaderTimeout is how long a client has to send its request line
	// and headers: what a slow-loris attack spends.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a whole request, body included: a
	// document upload (cases.MaxDocumentSize) over a slow link fits.
	ReadTimeout = 2 * time.Minute
	// WriteTimeout bounds writing a response. A page is written in
	// milliseconds once rendered; a large package download is the long
	// case, and five minutes carries 100 MB at 3 Mbit/s.
	WriteTimeout = 5 * time.Minute
	// IdleTimeout closes a kept-alive connection that sends nothing more.
	IdleTimeout = 2 * time.Minute
	// MaxConns caps the connections open at once, each costing a
	// descriptor and a goroutine. Well under the usual 20,000-descriptor
	// limit, with room for the database pools and files.
	MaxConns = 4096
	// CapGrace is how long a connection may go without a request in
	// progress (its headers not yet read, or kept alive between requests)
	// before the cap may close it to let a new one in. Short, because
	// the connections waiting behind a full cap are accepted a cap's
	// worth per CapGrace; it only spares a connection just accepted whose
	// headers the server has not yet had time to read. The longest
	// waiting is closed first, so a client that sends its headers at once
	// is not closed however fast others connect.
	CapGrace = 100 * time.Millisecond
)

// HTTPServer returns an http.Server for h with the limits above.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
}

// evictedConns counts connections the cap closed to let a new one in, by
// what they were doing: "headers" (not yet sent), "idle" (kept alive).
var evictedConns = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "envelope_http_connections_evicted_total",
	Help: "Connections closed at the cap on open connections to let a new one in, by state (headers: never finished its request headers; idle: kept alive between requests).",
}, []string{"state"})

// Listener caps the connections open at once without letting anyone hold
// the cap. A plain limit stops accepting once full, and then whoever
// holds the connections (20,000 slow-loris clients that never finish
// their headers, issue 18) keeps everyone else waiting in the kernel's
// accept queue, round after round of ReadHeaderTimeout. At the cap this
// Listener still accepts, and makes room by closing the connection that
// has gone longest without a request in progress (headers unfinished, or
// idle between requests), once that is longer than CapGrace. A
// connection whose request is being read or answered is never closed for
// room: when all of them are, new ones wait to be accepted, as before.
// It learns what each connection does from the http.Server's ConnState
// (Track); until told, a connection counts as busy. One goroutine
// accepts, as http.Server's Serve does.
type Listener struct {
	net.Listener
	// Logger is told, at most once a minute, how many connections the
	// cap closed (nil: slog.Default()).
	Logger  *slog.Logger
	max     int
	mu      sync.Mutex
	open    int           // accepted and not yet closed
	waiting list.List     // *capConn without a request in progress, longest first
	changed chan struct{} // a slot freed or a connection became a victim
	done    chan struct{} // closed by Close
	once    sync.Once
	evicted map[string]int // closed for room since logged
	logged  time.Time
}

// capConn is a connection the Listener accepted.
type capConn struct {
	net.Conn
	l      *Listener
	state  string        // "headers" or "idle" while in l.waiting
	since  time.Time     // when it entered l.waiting
	elem   *list.Element // in l.waiting, or nil
	closed bool          // counted out of l.open
}

// Listen listens on addr with at most max connections open at once (0:
// MaxConns). Pass the server to Track before serving.
func Listen(addr string, max int) (*Listener, error) {
	if max <= 0 {
		max = MaxConns
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Listener{Listener: ln, max: max, changed: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

// Track tells l what hs's connections do (chaining any ConnState hook hs
// has): only a connection without a request in progress may be closed
// for room.
func (l *Listener) Track(hs *http.Server) {
	next := hs.ConnState
	hs.ConnState = func(c net.Conn, s http.ConnState) {
		if cc := capConnOf(c); cc != nil {
			l.told(cc, s)
		}
		if next != nil {
			next(c, s)
		}
	}
}

// capConnOf finds the capConn under c (a TLS connection wraps it).
func capConnOf(c net.Conn) *capConn {
	for {
		switch v := c.(type) {
		case *capConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

// told records c's new state.
func (l *Listener) told(c *capConn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closed {
		return
	}
	if c.elem != nil {
		l.waiting.Remove(c.elem)
		c.elem = nil
	}
	switch s {
	case http.StateNew:
		c.state = "headers"
	case http.StateIdle:
		c.state = "idle"
	default: // active, hijacked, closed: not for the cap to close
		return
	}
	c.since = time.Now()
	c.elem = l.waiting.PushBack(c)
	l.signal()
}

// signal wakes an Accept waiting for room; l.mu is held.
func (l *Listener) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// Accept accepts the next connection, making room for it at the cap.
func (l *Listener) Accept() (net.Conn, error) {
	// At the cap with every connection busy, leave new ones in the
	// kernel's queue until one may be closed or frees its slot.
	if err := l.wait(func() bool { return l.open < l.max || l.waiting.Len() > 0 }); err != nil {
		return nil, err
	}
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &capConn{Conn: nc, l: l}
	l.mu.Lock()
	l.open++
	l.mu.Unlock()
	if err := l.makeRoom(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// wait waits until ready (called with l.mu held) or l is closed.
func (l *Listener) wait(ready func() bool) error {
	for {
		l.mu.Lock()
		ok := ready()
		l.mu.Unlock()
		if ok {
			return nil
		}
		if err := l.sleep(0); err != nil {
			return err
		}
	}
}

// makeRoom closes connections without a request in progress, longest
// waiting first, until the one just accepted fits under the cap: at most
// one more than the cap is ever open, and only for as long as this takes.
func (l *Listener) makeRoom() error {
	for {
		l.mu.Lock()
		if l.open <= l.max {
			l.mu.Unlock()
			return nil
		}
		var wait time.Duration // 0: until a slot frees or a connection waits
		if front := l.waiting.Front(); front != nil {
			v := front.Value.(*capConn)
			if wait = CapGrace - time.Since(v.since); wait <= 0 {
				l.drop(v)
				l.noteEvicted(v.state)
				l.mu.Unlock()
				v.Conn.Close()
				continue
			}
		}
		l.mu.Unlock()
		if err := l.sleep(wait); err != nil {
			return err
		}
	}
}

// sleep waits for l.changed, or d if it is more than 0.
func (l *Listener) sleep(d time.Duration) error {
	var timeout <-chan time.Time
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-l.changed:
	case <-timeout:
	case <-l.done:
		return net.ErrClosed
	}
	return nil
}

// noteEvicted counts a connection closed for room in state, and logs the
// counts once a minute: an operator learns the cap is being held without
// a line for each of thousands of connections. l.mu is held.
func (l *Listener) noteEvicted(state string) {
	evictedConns.WithLabelValues(state).Inc()
	if l.evicted == nil {
		l.evicted = map[string]int{}
	}
	l.evicted[state]++
	if time.Since(l.logged) < time.Minute {
		return
	}
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Warn("connection cap reached: closed connections without a request in progress to let new ones in",
		"cap", l.max, "headers_unfinished", l.evicted["headers"], "idle", l.evicted["idle"])
	l.evicted, l.logged = nil, time.Now()
}

// drop counts c out of the open connections; l.mu is held.
func (l *Listener) drop(c *capConn) {
	if c.closed {
		return
	}
	c.closed = true
	if c.elem != nil {
		l.waiting.Remove(c.elem)
		c.elem = nil
	}
	l.open--
	l.signal()
}

// Close stops accepting, waking an Accept waiting for room.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Close closes the connection and gives its slot back.
func (c *capConn) Close() error {
	c.l.mu.Lock()
	c.l.drop(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
