package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"envelope/cases"
	"envelope/cases/store"
)

// ssoClient is a browser stand-in: it keeps cookies and follows redirects,
// so the whole authorization code flow runs over real HTTP between the
// portal and a real OpenID provider (mockoidc, in process).
func ssoClient(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func ssoSignIn(t *testing.T, c *http.Client, base string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(base + "/login/oidc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Single sign-on with OpenID Connect: a user whose role claim maps to a
// role is signed in (made on first sign-in, their role following the
// claim's, audited) and reaches the portal without a second step here; a
// claim that maps to no role is refused and audited; an answer that does
// not belong to a sign-in this browser started is refused.
func TestSingleSignOn(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	s := newStrict(t)
	cfg := m.Config()
	if err := s.srv.EnableOIDC(context.Background(), OIDCConfig{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RoleClaim: "groups", Scopes: []string{"groups"}, RoleMap: map[string]cases.Role{"legal-supervisors": cases.RoleSupervisor, "legal-reviewers": cases.RoleReviewer}}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.srv)
	defer ts.Close()

	if w := s.send("", "GET", "/login", nil); !strings.Contains(w.Body.String(), `href="/login/oidc"`) {
		t.Fatal("the sign-in page does not offer single sign-on")
	}

	m.QueueUser(&mockoidc.MockUser{Subject: "u-1", Email: "Sam@Example.org", EmailVerified: true, Groups: []string{"staff", "legal-supervisors"}})
	c := ssoClient(t)
	resp, body := ssoSignIn(t, c, ts.URL)
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/dashboard" || !strings.Contains(body, "sam@example.org") {
		t.Fatalf("single sign-on: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	u, err := s.db.UserByEmail(ctx, "sam@example.org")
	if err != nil || u.Role != cases.RoleSupervisor {
		t.Fatalf("the account made: %+v %v", u, err)
	}
	if _, err := s.db.Authenticate(ctx, "sam@example.org", ""); err == nil {
		t.Fatal("an account made by single sign-on takes an empty password")
	}

	// The provider moved them to the reviewers: the role follows.
	m.QueueUser(&mockoidc.MockUser{Subject: "u-1", Email: "sam@example.org", EmailVerified: true, Groups: []string{"legal-reviewers"}})
	if resp, _ := ssoSignIn(t, ssoClient(t), ts.URL); resp.Request.URL.Path != "/dashboard" {
		t.Fatalf("second sign-in: %s", resp.Request.URL)
	}
	if u, _ := s.db.UserByEmail(ctx, "sam@example.org"); u.Role != cases.RoleReviewer {
		t.Fatalf("role after the claim changed: %s", u.Role)
	}
	if evs, _, _ := s.db.AuditEvents(ctx, store.AuditFilter{Action: "user.role"}); len(evs) != 1 || !strings.HasPrefix(evs[0].Actor, "sso:") {
		t.Fatalf("role change audit: %+v", evs)
	}

	// A claim that names no envelope role: refused, audited, no session.
	m.QueueUser(&mockoidc.MockUser{Subject: "u-2", Email: "max@example.org", EmailVerified: true, Groups: []string{"marketing"}})
	c = ssoClient(t)
	resp, body = ssoSignIn(t, c, ts.URL)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "has no envelope role") {
		t.Fatalf("unknown role claim: %d\n%s", resp.StatusCode, body)
	}
	if _, err := s.db.UserByEmail(ctx, "max@example.org"); cases.ErrorCode(err) != cases.ENOTFOUND {
		t.Fatalf("an account was made for an unknown role: %v", err)
	}
	evs, _, _ := s.db.AuditEvents(ctx, store.AuditFilter{Action: "login.sso.refused"})
	if len(evs) != 1 || !strings.Contains(string(evs[0].After), "marketing") {
		t.Fatalf("refusal audit: %+v", evs)
	}
	if r, _ := c.Get(ts.URL + "/dashboard"); r.Request.URL.Path != "/login" {
		t.Fatalf("after a refused sign-in the dashboard is at %s", r.Request.URL.Path)
	}

	// An answer that does not belong to a sign-in started in this browser.
	if w := s.send("", "GET", "/login/oidc/callback?state=forged&code=x", nil); w.Code != http.StatusBadRequest {
		t.Fatalf("forged callback: %d", w.Code)
	}
}

func TestParseRoleMap(t *testing.T) {
	m, err := ParseRoleMap(" legal-admins=admin, legal-reviewers=reviewer ")
	if err != nil || m["legal-admins"] != cases.RoleAdmin || m["legal-reviewers"] != cases.RoleReviewer {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"x", "x=boss", "=admin"} {
		if _, err := ParseRoleMap(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
