package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"envelope/cases"
)

// Optional single sign-on for staff with OpenID Connect (issue 14): the
// authorization code flow with PKCE, state and nonce; the ID token is
// checked by go-oidc against the provider's keys. The role comes from one
// claim of the token (RoleClaim), mapped by RoleMap; a token whose claim
// maps to no role, or to more than one, is refused and audited. The
// provider's sign-in stands for both factors: require a second factor
// there.

// OIDCConfig configures single sign-on.
type OIDCConfig struct {
	Issuer, ClientID, ClientSecret string
	// RoleClaim names the ID token claim holding the role: a string or a
	// list of strings (default "roles").
	RoleClaim string
	// RoleMap maps a claim value to a role. Empty: the values are role
	// names themselves (intake, reviewer, supervisor, auditor, admin).
	RoleMap map[string]cases.Role
	// Scopes are asked for beside openid, email and profile: some
	// providers give the role claim only for its own scope (e.g. groups).
	Scopes []string
	// RedirectURL is the callback registered at the provider; empty: this
	// site's /login/oidc/callback as the request names it.
	RedirectURL string
}

type oidcProvider struct {
	cfg      OIDCConfig
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// EnableOIDC turns single sign-on on: it discovers the provider at
// cfg.Issuer now, so a wrong issuer stops the start.
func (s *Server) EnableOIDC(ctx context.Context, cfg OIDCConfig) error {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return fmt.Errorf("single sign-on needs an issuer and a client ID")
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "roles"
	}
	for v, r := range cfg.RoleMap {
		if !r.Valid() || r == cases.RoleCollector {
			return fmt.Errorf("role map: %q maps to %q, which is not a portal role", v, r)
		}
	}
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return fmt.Errorf("single sign-on provider %s: %w", cfg.Issuer, err)
	}
	s.oidc = &oidcProvider{cfg: cfg, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID})}
	s.oidcRoutes(s.portal)
	return nil
}

// ParseRoleMap reads "value=role,value=role" (the --oidc-role-map flag).
func ParseRoleMap(s string) (map[string]cases.Role, error) {
	out := map[string]cases.Role{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		v, r, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(v) == "" || !cases.Role(strings.TrimSpace(r)).Valid() {
			return nil, fmt.Errorf("role map: %q is not claim-value=role (a role is one of intake, reviewer, supervisor, auditor, admin)", pair)
		}
		out[strings.TrimSpace(v)] = cases.Role(strings.TrimSpace(r))
	}
	return out, nil
}

const oidcCookie = "envelope_oidc"

// oidcRoutes are added by EnableOIDC, before the server serves: without
// single sign-on they do not exist.
func (s *Server) oidcRoutes(p *gin.RouterGroup) {
	p.GET("/login/oidc", s.oidcStart)
	p.GET("/login/oidc/callback", s.oidcCallback)
}

func (o *oidcProvider) oauth(c *gin.Context, secure bool) *oauth2.Config {
	redirect := o.cfg.RedirectURL
	if redirect == "" {
		scheme := "http"
		if secure {
			scheme = "https"
		}
		redirect = scheme + "://" + c.Request.Host + "/login/oidc/callback"
	}
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: o.provider.Endpoint(),
		RedirectURL: redirect, Scopes: append([]string{oidc.ScopeOpenID, "email", "profile"}, o.cfg.Scopes...)}
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcStart sends the browser to the provider. State, nonce and the PKCE
// verifier travel in a short-lived cookie of this browser only, so the
// answer is accepted from the browser that asked, once.
func (s *Server) oidcStart(c *gin.Context) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	http.SetCookie(c.Writer, &http.Cookie{Name: oidcCookie, Value: state + "." + nonce + "." + verifier, Path: "/login/oidc", MaxAge: 600,
		HttpOnly: true, Secure: s.secure(c.Request), SameSite: http.SameSiteLaxMode})
	c.Redirect(http.StatusSeeOther, s.oidc.oauth(c, s.secure(c.Request)).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// ssoRefused is the answer to every refused single sign-on; the audit log
// has the reason.
const ssoRefused = "Single sign-on refused: your account at the identity provider has no envelope role, or is disabled here. Ask an administrator."

func (s *Server) oidcCallback(c *gin.Context) {
	ctx := c.Request.Context()
	cookie, _ := c.Cookie(oidcCookie)
	http.SetCookie(c.Writer, &http.Cookie{Name: oidcCookie, Value: "", Path: "/login/oidc", MaxAge: -1, HttpOnly: true, Secure: s.secure(c.Request), SameSite: http.SameSiteLaxMode})
	parts := strings.Split(cookie, ".")
	if len(parts) != 3 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(c.Query("state"))) != 1 {
		s.portalError(c, http.StatusBadRequest, "This sign-in answer does not belong to a sign-in started here: start again.")
		return
	}
	if e := c.Query("error"); e != "" {
		s.portalError(c, http.StatusUnauthorized, "The identity provider refused the sign-in ("+e+").")
		return
	}
	tok, err := s.oidc.oauth(c, s.secure(c.Request)).Exchange(ctx, c.Query("code"), oauth2.VerifierOption(parts[2]))
	if err != nil {
		s.portalError(c, http.StatusUnauthorized, "The identity provider did not confirm the sign-in: start again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := s.oidc.verifier.Verify(ctx, raw)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(parts[1])) != 1 {
		s.portalError(c, http.StatusUnauthorized, "The identity provider's answer could not be verified: start again.")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		s.portalFail(c, err)
		return
	}
	email, _ := claims["email"].(string)
	if v, ok := claims["email_verified"].(bool); ok && !v {
		email = ""
	}
	role, reason := s.oidc.role(claims[s.oidc.cfg.RoleClaim])
	if email == "" {
		reason = "no verified email"
	}
	if reason != "" {
		if err := s.DB.AuditSingleSignOnRefused(ctx, s.oidc.cfg.Issuer, idt.Subject, email, reason, claims[s.oidc.cfg.RoleClaim]); err != nil {
			s.portalFail(c, err)
			return
		}
		s.portalError(c, http.StatusForbidden, ssoRefused)
		return
	}
	u, err := s.DB.SignInSingleSignOn(ctx, s.oidc.cfg.Issuer, idt.Subject, email, role)
	if err != nil {
		if cases.ErrorCode(err) == cases.EUNAUTHORIZED || cases.ErrorCode(err) == cases.EINVALID {
			s.portalError(c, http.StatusForbidden, ssoRefused)
			return
		}
		s.portalFail(c, err)
		return
	}
	if old, _ := c.Cookie(SessionCookie); old != "" {
		s.DB.RevokeSession(ctx, old)
	}
	session, err := s.DB.CreateSingleSignOnSession(ctx, u.ID)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	s.setSessionCookie(c, session)
	c.Redirect(http.StatusSeeOther, "/dashboard")
}

// role maps the role claim (a string or a list of strings) to exactly one
// portal role, or says why not.
func (o *oidcProvider) role(claim any) (cases.Role, string) {
	var values []string
	switch v := claim.(type) {
	case string:
		values = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				values = append(values, s)
			}
		}
	case nil:
		return "", "no " + o.cfg.RoleClaim + " claim"
	}
	found := map[cases.Role]bool{}
	for _, v := range values {
		r := cases.Role(v)
		if len(o.cfg.RoleMap) > 0 {
			r = o.cfg.RoleMap[v]
		}
		if r.Valid() && r != cases.RoleCollector {
			found[r] = true
		}
	}
	if len(found) != 1 {
		var names []string
		for r := range found {
			names = append(names, string(r))
		}
		sort.Strings(names)
		if len(names) == 0 {
			return "", "the role claim names no envelope role"
		}
		return "", "the role claim names several roles: " + strings.Join(names, ", ")
	}
	for r := range found {
		return r, ""
	}
	return "", ""
}
