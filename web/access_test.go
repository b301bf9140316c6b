package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Every registered API route requires a valid token: walking the router's
// own table means a route added later cannot be left open by mistake. The
// signing key's public half too: it is served to anyone signed in.
func TestEveryAPIRouteRequiresAToken(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	public := map[string]bool{"GET /healthz": true}
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

// Who may use each route: every route the router has must be listed, so a
// new route cannot be added without deciding who may use it. "public" is
// open to everyone signed out; the rest name their roles.
var (
	everyone = []cases.Role{cases.RoleIntake, cases.RoleReviewer, cases.RoleSupervisor, cases.RoleAuditor, cases.RoleAdmin, cases.RoleCollector}
	readers  = []cases.Role{cases.RoleIntake, cases.RoleReviewer, cases.RoleSupervisor, cases.RoleAuditor, cases.RoleAdmin}
	loggers  = []cases.Role{cases.RoleIntake, cases.RoleReviewer, cases.RoleSupervisor, cases.RoleAdmin}
	deciders = []cases.Role{cases.RoleReviewer, cases.RoleSupervisor}
	holders  = []cases.Role{cases.RoleReviewer, cases.RoleSupervisor, cases.RoleAdmin}
	adminsR  = []cases.Role{cases.RoleAdmin}
	auditR   = []cases.Role{cases.RoleAuditor, cases.RoleAdmin}
	public   = []cases.Role{"public"}
)

var routeRoles = map[string][]cases.Role{
	"GET /healthz":                                         public,
	"GET /readyz":                                          public,
	"GET /metrics":                                         public,
	"GET /static/*filepath":                                public,
	"HEAD /static/*filepath":                               public,
	"GET /":                                                public,
	"GET /login":                                           public,
	"POST /login":                                          public,
	"POST /logout":                                         public,
	"GET /api/v1/me":                                       everyone,
	"GET /api/v1/signing-key":                              everyone,
	"POST /api/v1/collect/events":                          {cases.RoleCollector},
	"POST /api/v1/cases":                                   loggers,
	"GET /api/v1/cases":                                    readers,
	"GET /api/v1/cases/:id":                                readers,
	"GET /api/v1/cases/:id/decision":                       readers,
	"GET /api/v1/cases/:id/events":                         readers,
	"POST /api/v1/cases/:id/approve":                       deciders,
	"POST /api/v1/cases/:id/reject":                        deciders,
	"POST /api/v1/cases/:id/close":                         loggers,
	"POST /api/v1/cases/:id/notes":                         loggers,
	"GET /api/v1/agencies":                                 readers,
	"POST /api/v1/agencies":                                adminsR,
	"POST /api/v1/cases/:id/verifications":                 loggers,
	"GET /api/v1/cases/:id/verifications":                  readers,
	"POST /api/v1/cases/:id/clock-events":                  loggers,
	"POST /api/v1/cases/:id/assign":                        loggers,
	"PUT /api/v1/cases/:id/document":                       loggers,
	"GET /api/v1/cases/:id/document":                       readers,
	"POST /api/v1/policy/check":                            readers,
	"GET /api/v1/policy":                                   readers,
	"POST /api/v1/policy/replay":                           adminsR,
	"PUT /api/v1/policy":                                   adminsR,
	"GET /api/v1/settings":                                 readers,
	"GET /api/v1/clock":                                    readers,
	"PUT /api/v1/clock":                                    adminsR,
	"PUT /api/v1/me/time_zone":                             readers,
	"PUT /api/v1/users/:id/time_zone":                      adminsR,
	"GET /profile":                                         readers,
	"POST /admin/users/:id/time_zone":                      adminsR,
	"POST /profile":                                        readers,
	"GET /admin/settings":                                  adminsR,
	"POST /admin/settings":                                 adminsR,
	"PUT /api/v1/settings/time_zone":                       adminsR,
	"GET /api/v1/audit/verify":                             auditR,
	"GET /api/v1/audit/checkpoint":                         auditR,
	"GET /api/v1/cases/:id/collection":                     readers,
	"GET /api/v1/cases/:id/preservation":                   readers,
	"POST /api/v1/cases/:id/preservation/extend":           loggers,
	"GET /api/v1/reports/:period":                          readers,
	"GET /api/v1/reports/:period/countries/:country/cases": readers,
	"POST /api/v1/cases/:id/export":                        loggers,
	"GET /api/v1/cases/:id/exports":                        readers,
	"GET /api/v1/cases/:id/exports/:package":               readers,
	"GET /password":                                        readers,
	"POST /password":                                       readers,
	"GET /dashboard":                                       readers,
	"GET /cases":                                           readers,
	"GET /cases/new":                                       loggers,
	"POST /cases/new":                                      loggers,
	"GET /cases/:id":                                       readers,
	"POST /cases/:id/review":                               deciders,
	"POST /cases/:id/notes":                                loggers,
	"POST /cases/:id/verifications":                        loggers,
	"POST /cases/:id/document":                             loggers,
	"GET /cases/:id/document":                              readers,
	"GET /reports":                                         readers,
	"GET /reports/:period/:format":                         readers,
	"GET /admin/users":                                     adminsR,
	"POST /admin/users":                                    adminsR,
	"POST /admin/users/:id/revoke-tokens":                  adminsR,
	"POST /admin/users/:id/reset-second-factor":            adminsR,
	"GET /admin/agencies":                                  auditR,
	"POST /admin/agencies":                                 adminsR,
	"GET /admin/agencies/:id":                              adminsR,
	"POST /admin/agencies/:id":                             adminsR,
	"GET /admin/policy":                                    auditR,
	"GET /admin/organisation":                              auditR,
	"GET /admin/organisation/:image":                       auditR,
	"POST /admin/organisation":                             adminsR,
	"POST /api/v1/cases/:id/letters":                       loggers,
	"GET /api/v1/cases/:id/letters":                        readers,
	"GET /api/v1/cases/:id/letters/:file":                  readers,
	"POST /cases/:id/letters":                              loggers,
	"GET /cases/:id/letters/:file":                         readers,
	"POST /admin/policy/replay":                            adminsR,
	"POST /admin/policy/activate":                          adminsR,
	"POST /admin/users/:id":                                adminsR,
	"POST /admin/users/:id/reset-password":                 adminsR,
	"POST /cases/:id/export":                               loggers,
	"GET /cases/:id/exports/:package":                      readers,
	"POST /cases/:id/preservation/extend":                  loggers,
	"POST /cases/:id/hold":                                 holders,
	"POST /cases/:id/hold/release":                         holders,
	"POST /api/v1/cases/:id/hold":                          holders,
	"DELETE /api/v1/cases/:id/hold":                        holders,
	"GET /api/v1/holds":                                    readers,
	"POST /api/v1/cases/:id/reopen":                        {cases.RoleSupervisor},
	"POST /api/v1/cases/:id/end":                           deciders,
	"POST /api/v1/cases/:id/shape":                         deciders,
	"POST /api/v1/cases/:id/targets/decide":                deciders,
	"POST /api/v1/cases/:id/clarification":                 loggers,
	"POST /api/v1/cases/:id/clarification/answer":          loggers,
	"POST /api/v1/cases/:id/withdraw":                      loggers,
	"GET /api/v1/workload":                                 readers,
	"POST /cases/:id/assign":                               loggers,
	"POST /cases/:id/close":                                loggers,
	"POST /cases/:id/reopen":                               {cases.RoleSupervisor},
	"POST /cases/:id/end":                                  deciders,
	"POST /cases/:id/shape":                                deciders,
	"POST /cases/:id/clarification":                        loggers,
	"POST /cases/:id/clarification/answer":                 loggers,
	"POST /cases/:id/withdraw":                             loggers,
	"GET /workload":                                        readers,
	"GET /api/v1/cases/:id/notice":                         readers,
	"POST /api/v1/cases/:id/notice":                        loggers,
	"POST /api/v1/cases/:id/ndos":                          loggers,
	"POST /api/v1/cases/:id/ndos/:ndo/extend":              loggers,
	"GET /api/v1/notices":                                  readers,
	"POST /cases/:id/notice":                               loggers,
	"POST /cases/:id/ndos":                                 loggers,
	"POST /cases/:id/ndos/:ndo/extend":                     loggers,
	"GET /notices":                                         readers,
	"GET /api/v1/cases/:id/related":                        readers,
	"GET /api/v1/duplicates":                               readers,
	"GET /api/v1/audit/events":                             auditR,
	"GET /audit":                                           auditR,
	"GET /audit/verify":                                    auditR,
	"GET /audit.csv":                                       auditR,
	"GET /cases.csv":                                       auditR,
	"GET /api/v1/cases/:id/attachments":                    readers,
	"POST /api/v1/cases/:id/attachments":                   loggers,
	"GET /api/v1/cases/:id/attachments/:att":               readers,
	"POST /cases/:id/attachments":                          loggers,
	"GET /cases/:id/attachments/:att":                      readers,
}

// concrete fills a route's parameters: an existing case, and for the user
// routes a user that does not exist (revoking a fixture user's tokens
// would end the test's own access).
func concrete(path string) string {
	if strings.HasPrefix(path, "/admin/users/") {
		path = strings.Replace(path, ":id", "999", 1)
	}
	return strings.NewReplacer(":id", "1", ":ndo", "1", ":att", "1", ":period", "2026-Q3", ":package", "x.zip", ":country", "US", ":format", "csv",
		"*filepath", "portal.css").Replace(path)
}

// Every route of the router is in routeRoles, and every role gets exactly
// what the table says: API routes answer a role not listed 403 and a
// listed one anything but 401 or 403; portal routes answer a signed-in role
// not listed 403 and send a listed one neither to sign-in nor away.
func TestEveryRouteHasItsRoles(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	if err := p.srv.SetExportDirs(filepath.Join(t.TempDir(), "keys"), filepath.Join(t.TempDir(), "packages")); err != nil {
		t.Fatal(err)
	}
	p.create(cases.RoleIntake, "subpoena.json")
	seen := map[string]bool{}
	for _, r := range p.srv.Engine().Routes() {
		key := r.Method + " " + r.Path
		seen[key] = true
		allowed, ok := routeRoles[key]
		if !ok {
			t.Errorf("%s is not in routeRoles: decide who may use it", key)
			continue
		}
		if slices.Equal(allowed, public) {
			// Open: not turned away by the token check (401 with
			// WWW-Authenticate), the sign-in check (to /login?next=) or a role.
			if w := p.page("", r.Method, concrete(r.Path), url.Values{}); w.Code == http.StatusForbidden || w.Header().Get("WWW-Authenticate") != "" ||
				strings.HasPrefix(w.Header().Get("Location"), "/login?next=") {
				t.Errorf("public %s: %d", key, w.Code)
			}
			continue
		}
		path := concrete(r.Path)
		for _, role := range cases.Roles {
			var w *httptest.ResponseRecorder
			if strings.HasPrefix(r.Path, "/api/") {
				w = p.do(role, r.Method, path, []byte("{}"), nil)
			} else {
				w = p.page(role, r.Method, path, url.Values{"x": {"y"}})
			}
			toLogin := w.Code == http.StatusSeeOther && strings.HasPrefix(w.Header().Get("Location"), "/login")
			if slices.Contains(allowed, role) {
				if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden || toLogin {
					t.Errorf("%s %s: %d, but the role may", role, key, w.Code)
				}
			} else if w.Code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", role, key, w.Code)
			}
		}
	}
	for key := range routeRoles {
		if !seen[key] {
			t.Errorf("routeRoles lists %s, which the router does not have", key)
		}
	}
}

// Every state-changing portal route refuses a cross-origin post before it
// runs, even from a signed-in user allowed to use it; and the API does not
// take the session cookie at all, so a cross-site form cannot use it.
func TestEveryPortalPostRefusesCrossOrigin(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	p.create(cases.RoleIntake, "subpoena.json")
	before := tableCounts(t, p.db)
	n := 0
	for _, r := range p.srv.Engine().Routes() {
		if strings.HasPrefix(r.Path, "/api/") || r.Method == "GET" || r.Method == "HEAD" {
			continue
		}
		n++
		role := cases.RoleAdmin
		if allowed := routeRoles[r.Method+" "+r.Path]; len(allowed) > 0 && !slices.Contains(allowed, role) {
			role = allowed[0]
		}
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}, {"Origin", "https://evil.example"}} {
			w := p.page(role, r.Method, concrete(r.Path), url.Values{"note": {"x"}, "verdict": {"approve"}, "body": {"x"}}, h...)
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "another site") {
				t.Errorf("%s %s %s with %s: %s: %d", role, r.Method, r.Path, h[0], h[1], w.Code)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d portal posts found", n)
	}
	if after := tableCounts(t, p.db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a cross-origin post changed something: %v → %v", before, after)
	}
	// The API with a session cookie and no token: 401.
	req := httptest.NewRequest("POST", "/api/v1/cases/1/approve", strings.NewReader("{}"))
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: p.sessions[cases.RoleReviewer]})
	req.Header.Set("Origin", "https://evil.example")
	w := httptest.NewRecorder()
	p.srv.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("API with a session cookie: %d", w.Code)
	}
}

// Tokens, over HTTP: one works until TokenTTL, not after; the admin's
// "Revoke API tokens" ends a user's tokens and no one else's; disabling a
// user ends their tokens and their sessions.
func TestTokenAndSessionEndOverHTTP(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	realNow := p.db.Now
	at := func(d time.Duration) { p.db.Now = func() time.Time { return realNow().Add(d) } }
	me := func(role cases.Role) int { return p.do(role, "GET", "/api/v1/me", nil, nil).Code }

	at(store.TokenTTL - time.Hour)
	if c := me(cases.RoleIntake); c != http.StatusOK {
		t.Fatalf("token before its expiry: %d", c)
	}
	at(store.TokenTTL + time.Hour)
	if c := me(cases.RoleIntake); c != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", c)
	}
	p.db.Now = realNow

	intake, _ := p.db.UserByEmail(ctx, p.emails[cases.RoleIntake])
	if w := p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(intake.ID)+"/revoke-tokens", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", w.Code)
	}
	if c := me(cases.RoleIntake); c != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", c)
	}
	if c := me(cases.RoleReviewer); c != http.StatusOK {
		t.Errorf("another user's token after the revocation: %d", c)
	}

	reviewer, _ := p.db.UserByEmail(ctx, p.emails[cases.RoleReviewer])
	if _, err := p.db.Writer().Exec(p.db.Writer().Rebind("UPDATE users SET disabled = ? WHERE id = ?"), true, reviewer.ID); err != nil {
		t.Fatal(err)
	}
	if c := me(cases.RoleReviewer); c != http.StatusUnauthorized {
		t.Errorf("disabled user's token: %d", c)
	}
	if w := p.page(cases.RoleReviewer, "GET", "/dashboard", nil); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
		t.Errorf("disabled user's session: %d", w.Code)
	}
}

// Sessions, over HTTP: a session in use every 20 minutes still ends
// SessionAbsoluteTimeout after sign-in, and its cookie is cleared.
func TestSessionAbsoluteTimeoutOverHTTP(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	start := time.Now().UTC()
	now := start
	p.db.Now = func() time.Time { return now }
	u, _ := p.db.UserByEmail(ctx, p.emails[cases.RoleAuditor])
	p.sessions["s"], _ = p.db.CreateSession(ctx, u.ID)
	var last time.Time
	for ; now.Before(start.Add(store.SessionAbsoluteTimeout)); now = now.Add(20 * time.Minute) {
		if w := p.page("s", "GET", "/dashboard", nil); w.Code != http.StatusOK {
			t.Fatalf("busy session at %v: %d", now.Sub(start), w.Code)
		}
		last = now
	}
	now = start.Add(store.SessionAbsoluteTimeout)
	if now.Sub(last) >= store.SessionIdleTimeout {
		t.Fatal("the session would end idle: the test would not see the absolute timeout")
	}
	w := p.page("s", "GET", "/dashboard", nil)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
		t.Fatalf("session past its absolute timeout: %d", w.Code)
	}
	if ck := cookieOf(w); ck == nil || ck.MaxAge >= 0 {
		t.Error("the ended session's cookie was not cleared")
	}
}
