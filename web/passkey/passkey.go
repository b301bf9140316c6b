// Package passkey runs the WebAuthn ceremonies (github.com/go-webauthn)
// for both portals: registering a passkey as a second factor and signing
// in with one. The ceremony's state is kept with the session in the
// database (store.SetChallenge), never in the browser, and is spent by the
// answer. The browser side is web/static/passkey.js.
package passkey

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"envelope/cases"
	"envelope/cases/store"
)

// Account is whose passkeys a ceremony is about.
type Account struct {
	// Owner is store.UserOwner or store.OfficerOwner; it is also the
	// WebAuthn user handle, so a passkey names its account.
	Owner string
	// Email is the account's name on the authenticator and in the audit log.
	Email string
	// Actor is how the audit log names the account.
	Actor string
	creds []webauthn.Credential
}

func (a *Account) WebAuthnID() []byte                         { return []byte(a.Owner) }
func (a *Account) WebAuthnName() string                       { return a.Email }
func (a *Account) WebAuthnDisplayName() string                { return a.Email }
func (a *Account) WebAuthnCredentials() []webauthn.Credential { return a.creds }

// Load returns the account with its registered passkeys.
func Load(ctx context.Context, db *store.DB, owner, email, actor string) (*Account, error) {
	keys, err := db.Passkeys(ctx, owner)
	if err != nil {
		return nil, err
	}
	a := &Account{Owner: owner, Email: email, Actor: actor}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(k.Credential), &c); err != nil {
			return nil, err
		}
		a.creds = append(a.creds, c)
	}
	return a, nil
}

// Has reports whether the account has a passkey.
func (a *Account) Has() bool { return len(a.creds) > 0 }

// relyingParty is this site as WebAuthn sees it: the host the browser
// asked for, and its origin. A passkey registered under one name works
// only there, which is what makes it phishing-resistant.
func relyingParty(r *http.Request, secure bool) (*webauthn.WebAuthn, error) {
	host := r.Host
	name, _, err := net.SplitHostPort(host)
	if err != nil {
		name = host
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	return webauthn.New(&webauthn.Config{RPDisplayName: "envelope", RPID: name, RPOrigins: []string{scheme + "://" + host}})
}

// Ceremony is one portal's side of the ceremonies: its sessions, the
// session cookie's value and whether the site is served over TLS.
type Ceremony struct {
	DB      *store.DB
	Kind    store.SessionKind
	Session string
	Secure  bool
}

func invalid(err error) error {
	msg := err.Error()
	if pe, ok := err.(*protocol.Error); ok && pe.Details != "" {
		msg = pe.Details
	}
	return cases.Invalid(map[string]string{"passkey": msg})
}

// BeginRegistration returns the options for navigator.credentials.create.
func (c Ceremony) BeginRegistration(ctx context.Context, r *http.Request, a *Account) (any, error) {
	w, err := relyingParty(r, c.Secure)
	if err != nil {
		return nil, err
	}
	opts, sd, err := w.BeginRegistration(a,
		webauthn.WithExclusions(webauthn.Credentials(a.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred))
	if err != nil {
		return nil, err
	}
	return opts, c.keep(ctx, sd)
}

// FinishRegistration checks the authenticator's answer (r's body) to the
// session's open registration and stores the passkey under name.
func (c Ceremony) FinishRegistration(ctx context.Context, r *http.Request, a *Account, name string) error {
	w, sd, err := c.take(ctx, r)
	if err != nil {
		return err
	}
	cred, err := w.FinishRegistration(a, *sd, r)
	if err != nil {
		return invalid(err)
	}
	b, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	return c.DB.AddPasskey(ctx, c.Kind, c.Session, a.Actor, a.Owner, name, base64.RawURLEncoding.EncodeToString(cred.ID), string(b))
}

// BeginLogin returns the options for navigator.credentials.get, allowing
// the account's passkeys only.
func (c Ceremony) BeginLogin(ctx context.Context, r *http.Request, a *Account) (any, error) {
	if !a.Has() {
		return nil, cases.Invalid(map[string]string{"passkey": "this account has no passkey"})
	}
	w, err := relyingParty(r, c.Secure)
	if err != nil {
		return nil, err
	}
	opts, sd, err := w.BeginLogin(a)
	if err != nil {
		return nil, err
	}
	return opts, c.keep(ctx, sd)
}

// FinishLogin checks the assertion (r's body) against the session's open
// sign-in and passes the session's second factor. A refused assertion is
// audited; one from an authenticator that looks cloned (its signature
// counter went back) is refused.
func (c Ceremony) FinishLogin(ctx context.Context, r *http.Request, a *Account) error {
	w, sd, err := c.take(ctx, r)
	if err != nil {
		return err
	}
	cred, err := w.FinishLogin(a, *sd, r)
	if err == nil && cred.Authenticator.CloneWarning {
		err = cases.Errorf(cases.EUNAUTHORIZED, "this passkey's signature counter went back: it may be a copy")
	}
	if err != nil {
		if aerr := c.DB.AuditSecondFactorFailure(ctx, a.Actor, a.Owner, err.Error()); aerr != nil {
			return aerr
		}
		if cases.ErrorCode(err) != "" {
			return err
		}
		return invalid(err)
	}
	b, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	return c.DB.UsePasskey(ctx, c.Kind, c.Session, a.Actor, a.Owner, base64.RawURLEncoding.EncodeToString(cred.ID), string(b))
}

func (c Ceremony) keep(ctx context.Context, sd *webauthn.SessionData) error {
	b, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	return c.DB.SetChallenge(ctx, c.Kind, c.Session, string(b))
}

func (c Ceremony) take(ctx context.Context, r *http.Request) (*webauthn.WebAuthn, *webauthn.SessionData, error) {
	data, err := c.DB.TakeChallenge(ctx, c.Kind, c.Session)
	if err != nil {
		return nil, nil, err
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(data), &sd); err != nil {
		return nil, nil, err
	}
	w, err := relyingParty(r, c.Secure)
	return w, &sd, err
}

// Fail answers a ceremony's call with the error as JSON (the script shows
// it) and its status; internal errors are logged, not shown.
func Fail(c *gin.Context, logger *slog.Logger, status func(string) int, err error) {
	code := cases.ErrorCode(err)
	if code == "" || code == cases.EINTERNAL {
		logger.Error("passkey", "path", c.FullPath(), "err", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "something went wrong on our side"})
		return
	}
	msg := cases.ErrorMessage(err)
	if f := cases.ErrorFields(err); f["passkey"] != "" {
		msg = f["passkey"]
	}
	c.AbortWithStatusJSON(status(code), gin.H{"error": msg})
}
