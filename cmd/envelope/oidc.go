package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"envelope/web"
)

// oidcOptions are serve's single sign-on flags (issue 14, docs/security.md).
type oidcOptions struct {
	issuer, clientID, secret, roleClaim, roleMap, scopes, redirect string
}

func oidcFlags(a *app, fs *flag.FlagSet) *oidcOptions {
	o := &oidcOptions{}
	fs.StringVar(&o.issuer, "oidc-issuer", a.getenv("ENVELOPE_OIDC_ISSUER"), "offer staff single sign-on with this OpenID Connect provider (its issuer URL; env ENVELOPE_OIDC_ISSUER); empty: none")
	fs.StringVar(&o.clientID, "oidc-client-id", a.getenv("ENVELOPE_OIDC_CLIENT_ID"), "envelope's client ID at the provider (env ENVELOPE_OIDC_CLIENT_ID)")
	fs.StringVar(&o.secret, "oidc-client-secret", a.getenv("ENVELOPE_OIDC_CLIENT_SECRET"), "envelope's client secret at the provider (prefer the env ENVELOPE_OIDC_CLIENT_SECRET: a flag shows in the process list)")
	fs.StringVar(&o.roleClaim, "oidc-role-claim", "roles", "the ID token claim naming the user's role (a string or a list)")
	fs.StringVar(&o.roleMap, "oidc-role-map", "", "claim-value=role pairs, comma-separated (e.g. legal-admins=admin,legal-reviewers=reviewer); empty: the claim's values are role names")
	fs.StringVar(&o.scopes, "oidc-scopes", "", "scopes to ask for beside openid, email and profile, comma-separated (e.g. groups)")
	fs.StringVar(&o.redirect, "oidc-redirect-url", "", "the callback URL registered at the provider (default: this site's /login/oidc/callback as the browser names it)")
	return o
}

// enable sets single sign-on up on srv when --oidc-issuer is given; the
// provider is asked now, so a wrong issuer stops the start.
func (o *oidcOptions) enable(ctx context.Context, srv *web.Server) error {
	if o.issuer == "" {
		return nil
	}
	m, err := web.ParseRoleMap(o.roleMap)
	if err != nil {
		return fmt.Errorf("--oidc-role-map: %w", err)
	}
	var scopes []string
	for _, s := range strings.Split(o.scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	return srv.EnableOIDC(ctx, web.OIDCConfig{Issuer: o.issuer, ClientID: o.clientID, ClientSecret: o.secret,
		RoleClaim: o.roleClaim, RoleMap: m, Scopes: scopes, RedirectURL: o.redirect})
}
