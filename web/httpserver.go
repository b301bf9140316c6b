package web

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
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
	// MaxConns caps the connections open at once; past it new ones wait
	// in the kernel's accept queue instead of costing a descriptor and a
	// goroutine each. Well under the usual 20,000-descriptor limit, with
	// room for the database pools and files.
	MaxConns = 4096
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

// Listen listens on addr with at most max connections open at once (0:
// MaxConns).
func Listen(addr string, max int) (net.Listener, error) {
	if max <= 0 {
		max = MaxConns
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return netutil.LimitListener(ln, max), nil
}
