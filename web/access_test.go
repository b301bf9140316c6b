package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// Every registered API route requires a valid token: walking the router's
// own table means a route added later cannot be left open by mistake.
// Public by design: the health check and the signing key's public half.
func TestEveryAPIRouteRequiresAToken(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	public := map[string]bool{"GET /healthz": true, "GET /api/v1/signing-key": true}
	n := 0
	for _, r := range f.srv.Engine().Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || public[r.Method+" "+r.Path] {
			continue
		}
		n++
		path := strings.NewReplacer(":id", "1", ":period", "2026-Q3", ":package", "x.zip", ":cc", "US").Replace(r.Path)
		for _, auth := range []string{"", "Bearer ", "Bearer env_not_a_token", "Basic dXNlcjpwYXNz"} {
			req := httptest.NewRequest(r.Method, path, strings.NewReader("{}"))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			w := httptest.NewRecorder()
			f.srv.ServeHTTP(w, req)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("%s %s with %q: %d, want 401", r.Method, r.Path, auth, w.Code)
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d API routes found; the walk is not seeing the router", n)
	}
}

// The collector role (the messaging service) may post collection events and
// nothing else: every other API route answers it 403.
func TestCollectorReachesOnlyCollection(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	for _, r := range f.srv.Engine().Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/api/v1/collect") ||
			r.Path == "/api/v1/me" || r.Path == "/api/v1/signing-key" {
			continue
		}
		path := strings.NewReplacer(":id", "1", ":period", "2026-Q3", ":package", "x.zip", ":cc", "US").Replace(r.Path)
		w := f.do(cases.RoleCollector, r.Method, path, []byte("{}"), nil)
		if w.Code != http.StatusForbidden {
			t.Errorf("collector %s %s: %d, want 403", r.Method, r.Path, w.Code)
		}
	}
}
