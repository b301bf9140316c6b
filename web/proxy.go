package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the addresses of reverse proxies in front of the
// server (--trusted-proxy). Only a request arriving from one of them has its
// X-Forwarded-For and X-Forwarded-Proto believed: anyone else could send
// them to pass as another client, or as a TLS connection.

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address sign-in throttling counts against: the
// connection's peer, or, behind a trusted proxy, the last address in
// X-Forwarded-For that is not itself a trusted proxy (the one the nearest
// untrusted hop connected from; what is left of it may be forged).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	a := peerAddr(r)
	if !s.trusted(a) {
		return a
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return a // a hop that does not parse: go by what we know
		}
		if h = h.Unmap(); !s.trusted(h) {
			return h
		}
		a = h
	}
	return a
}

// addrKey names r's client address for a rate limit (the sign-in
// throttle, the API limit of a request without a token). An IPv6 client
// is its /64: that is the block one host or home network is given (RFC
// 6177), whose 2^64 addresses its owner may use as they please, so
// counting each address apart would let one client spread its requests
// over as many buckets as it likes. An IPv4 address is itself.
func (s *Server) addrKey(r *http.Request) string {
	a := s.clientAddr(r)
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return "net:" + p.String()
	}
	return "addr:" + a.String()
}

// secure reports whether the client reached us over TLS: directly, or
// through a trusted proxy that says so. Session cookies are Secure then.
func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.trusted(peerAddr(r)) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}
