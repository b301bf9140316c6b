package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// One address gets LoginBurst sign-ins, then 429 with Retry-After, without
// the password being checked; another address is not held up. A forged
// X-Forwarded-For earns nothing unless the peer is a trusted proxy.
func TestLoginThrottlePerAddress(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	email := p.emails[cases.RoleReviewer]
	login := func(peer string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {"wrong"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = peer
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		p.srv.ServeHTTP(w, req)
		return w
	}
	for i := range LoginBurst {
		if w := login("203.0.113.5:4000"); w.Code != http.StatusUnauthorized {
			t.Fatalf("sign-in %d: %d", i+1, w.Code)
		}
	}
	w := login("203.0.113.5:4001", "X-Forwarded-For", "198.51.100.9")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "Too many sign-ins") {
		t.Fatalf("sign-in past the burst: %d %q", w.Code, w.Header().Get("Retry-After"))
	}
	if w := login("203.0.113.6:4000"); w.Code != http.StatusUnauthorized {
		t.Fatalf("another address: %d", w.Code)
	}
	// Behind a trusted proxy each forwarded client has its own bucket,
	// and the proxy's own address is never the one counted.
	p.srv.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/29")}
	if w := login("203.0.113.5:4002", "X-Forwarded-For", "198.51.100.9, 203.0.113.4"); w.Code != http.StatusUnauthorized {
		t.Fatalf("a client behind the proxy: %d", w.Code)
	}
}

// Behind a TLS-terminating proxy the session cookie is Secure, but only if
// the proxy is trusted: anyone can send X-Forwarded-Proto.
func TestSecureCookieBehindTrustedProxy(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	email := p.emails[cases.RoleReviewer]
	p.srv.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	signIn := func(peer string) *http.Cookie {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {portalPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.RemoteAddr = peer
		w := httptest.NewRecorder()
		p.srv.ServeHTTP(w, req)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("sign-in from %s: %d", peer, w.Code)
		}
		return cookieOf(w)
	}
	if ck := signIn("10.1.2.3:5000"); ck == nil || !ck.Secure {
		t.Fatalf("cookie through the trusted proxy: %+v", ck)
	}
	if ck := signIn("192.0.2.7:5000"); ck == nil || ck.Secure {
		t.Fatalf("cookie for a client claiming https itself: %+v", ck)
	}
}

// An IPv6 client is its /64, the block a single host or home network is
// given (RFC 6177): anyone with one can pick any of its 2^64 addresses,
// so counting each address apart would give them unlimited sign-ins.
// Another /64 is another client.
func TestLoginThrottlePerIPv6Network(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	email := p.emails[cases.RoleReviewer]
	login := func(peer string) int {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {"wrong"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = peer
		w := httptest.NewRecorder()
		p.srv.ServeHTTP(w, req)
		return w.Code
	}
	for i := range LoginBurst {
		if code := login(fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1)); code != http.StatusUnauthorized {
			t.Fatalf("sign-in %d: %d", i+1, code)
		}
	}
	if code := login("[2001:db8:1:2:ffff:ffff:ffff:ffff]:4000"); code != http.StatusTooManyRequests {
		t.Fatalf("another address of the same /64 past the burst: %d", code)
	}
	if code := login("[2001:db8:1:3::1]:4000"); code != http.StatusUnauthorized {
		t.Fatalf("another /64: %d", code)
	}
}
