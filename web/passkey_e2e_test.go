package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/web/agency"
)

// virtualAuthenticator gives the browser tab a platform authenticator that
// Chromium simulates (the DevTools WebAuthn domain): it makes and uses real
// keys, and says yes to every presence and verification check.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

// localhost is the test server by name: WebAuthn takes no IP address as a
// relying party ID.
func localhost(ts *httptest.Server) string {
	return strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
}

// TestE2EPasskeys drives passkeys in headless Chromium with a virtual
// authenticator. A supervisor, required to use a second factor and with
// none, registers a passkey at the enrolment the password leads to, makes
// recovery codes, signs out, and signs in with password and passkey; an
// assertion with a forged signature is refused and audited. An officer,
// enrolled with TOTP, registers a passkey and signs in with it instead of
// a code.
func TestE2EPasskeys(t *testing.T) {
	ctx := browser(t)
	s := newStrict(t)
	*s.now = time.Now().UTC()
	s.user("sam@example.org", cases.RoleSupervisor)
	listDirectory(t, s.db)
	ts := httptest.NewServer(s.srv)
	defer ts.Close()
	base := localhost(ts)
	auth := virtualAuthenticator(t, ctx)

	signInPassword := chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		chromedp.SetValue(chromedp.ID(`email`), "sam@example.org"),
		chromedp.SetValue(chromedp.ID(`password`), portalPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
	var flash, codes, url string
	err := chromedp.Do(ctx,
		signInPassword,
		chromedp.WaitVisible(chromedp.ID(`passkey-register`)),
		chromedp.SetValue(chromedp.ID(`passkey-name`), "Test laptop"),
		screenshot(t, "signin-enrol"),
		checkPage(t, "second-factor enrolment"),
		chromedp.Click(chromedp.ID(`passkey-register`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		into(chromedp.Text(chromedp.CSS(`.flash`)), &flash),
		chromedp.Click(chromedp.CSS(`form[action="/account/security/recovery-codes"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.codes`)),
		into(chromedp.Text(chromedp.CSS(`ul.codes`)), &codes),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)),
	)
	if err != nil {
		t.Fatalf("register a passkey: %v", err)
	}
	if flash != "Passkey registered." || strings.Count(codes, "-") != store.RecoveryCodeCount {
		t.Fatalf("after registering: flash %q, codes %q", flash, codes)
	}
	keys, err := s.db.Passkeys(ctx, store.UserOwner(1))
	if err != nil || len(keys) != 1 || keys[0].Name != "Test laptop" {
		t.Fatalf("stored passkeys: %+v %v", keys, err)
	}

	// A forged signature is refused; the session stays at the second step.
	var status string
	bogus := true
	err = chromedp.Do(ctx,
		signInPassword,
		chromedp.WaitVisible(chromedp.ID(`passkey-login`)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: auth, IsBogusSignature: &bogus})
			return err
		}),
		chromedp.Click(chromedp.ID(`passkey-login`)),
		chromedp.WaitVisible(chromedp.CSS(`#passkey-status:not(:empty)`)),
		into(chromedp.Text(chromedp.ID(`passkey-status`)), &status),
		into(chromedp.Location(), &url),
	)
	if err != nil {
		t.Fatalf("forged assertion: %v", err)
	}
	if !strings.Contains(status, "not accepted") || !strings.HasSuffix(url, "/login/second-factor") {
		t.Fatalf("forged assertion: %q at %s", status, url)
	}
	if evs, _, _ := s.db.AuditEvents(ctx, store.AuditFilter{Action: "login.second_factor.fail"}); len(evs) != 1 {
		t.Fatalf("the refused passkey is not audited: %d", len(evs))
	}

	bogus = false
	err = chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: auth, IsBogusSignature: &bogus})
			return err
		}),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID(`passkey-login`)),
		screenshot(t, "signin-second-step"),
		checkPage(t, "second step of sign-in"),
		chromedp.Click(chromedp.ID(`passkey-login`)),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Main]`)),
		into(chromedp.Location(), &url),
	)
	if err != nil {
		t.Fatalf("sign in with the passkey: %v", err)
	}
	if !strings.HasSuffix(url, "/dashboard") {
		t.Fatalf("after the passkey: %s", url)
	}
	if evs, _, _ := s.db.AuditEvents(ctx, store.AuditFilter{Action: "login.second_factor"}); len(evs) != 1 || !strings.Contains(string(evs[0].After), "passkey") {
		t.Fatalf("passkey sign-in audit: %+v", evs)
	}

	// An officer enrolled with TOTP adds a passkey and signs in with it.
	var fbi int64
	fmt.Sscan(agencyID(t, s.db, "Federal Bureau of Investigation"), &fbi)
	const password = "correct horse battery"
	off, token, err := s.db.RegisterOfficer(ctx, fbi, "kim@fbi.gov", "SA Dana Kim", "", password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.VerifyOfficer(ctx, token); err != nil {
		t.Fatal(err)
	}
	key, _ := totp.Generate(totp.GenerateOpts{Issuer: "envelope", AccountName: off.Email})
	if err := s.db.SetOfficerSecret(ctx, off.ID, key.Secret()); err != nil {
		t.Fatal(err)
	}
	c0, _ := totp.GenerateCode(key.Secret(), *s.now)
	if err := s.db.ConfirmOfficerTOTP(ctx, off.ID, "", c0, agency.CheckCode); err != nil {
		t.Fatal(err)
	}
	*s.now = s.now.Add(30 * time.Second)
	c1, _ := totp.GenerateCode(key.Secret(), *s.now)
	agencyLogin := func(code string) chromedp.Action[chromedp.Void] {
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(base + "/agency/login"),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/login"]`)),
			chromedp.SetValue(chromedp.CSS(`input[name=email]`), off.Email),
			chromedp.SetValue(chromedp.CSS(`input[name=password]`), password),
		}
		if code != "" { // blank: the passkey step
			steps = append(steps, chromedp.SetValue(chromedp.CSS(`input[name=code]`), code))
		}
		return chromedp.Steps(append(steps, chromedp.Click(chromedp.CSS(`form[action="/agency/login"] button`)))...)
	}
	if err := chromedp.Do(ctx, agencyLogin(c1)); err != nil {
		t.Fatalf("officer sign-in with a code: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/logout"]`)),
		chromedp.Navigate(base+"/agency/security"),
		chromedp.WaitVisible(chromedp.ID(`passkey-register`)),
		chromedp.Click(chromedp.ID(`passkey-register`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		into(chromedp.Text(chromedp.CSS(`.flash`)), &flash),
		chromedp.Click(chromedp.CSS(`form[action="/agency/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/login"]`)),
	)
	if err != nil {
		t.Fatalf("officer registers a passkey: %v", err)
	}
	err = chromedp.Do(ctx,
		agencyLogin(""),
		chromedp.WaitVisible(chromedp.ID(`passkey-login`)),
		screenshot(t, "agency-passkey"),
		checkPage(t, "agency passkey step"),
		chromedp.Click(chromedp.ID(`passkey-login`)),
		chromedp.WaitNotPresent(chromedp.ID(`passkey-login`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/logout"]`)),
		into(chromedp.Location(), &url),
	)
	if err != nil {
		t.Fatalf("officer passkey: %v", err)
	}
	if flash != "Passkey registered." || !strings.HasSuffix(url, "/agency/cases") {
		t.Fatalf("officer: flash %q, at %s", flash, url)
	}
	if evs, _, _ := s.db.AuditEvents(ctx, store.AuditFilter{Action: "login.second_factor", Actor: "agency:" + off.Email}); len(evs) != 1 {
		t.Fatalf("officer passkey sign-in audit: %d", len(evs))
	}
}
