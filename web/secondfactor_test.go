package web

import (
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

// passwordOnly turns the second-factor requirement off for every role of
// db (a real setting: Settings → Sign-in in the portal). The shared test
// fixtures (newFixture, portalUsers, the admin e2e tests) call it so that
// they sign staff in with a password alone; the product's default (on for
// supervisor and admin) is what the tests below and the store's run on.
func passwordOnly(t testing.TB, db *store.DB) {
	t.Helper()
	if err := db.SetSecondFactorRoles(ctx, "test", nil); err != nil {
		t.Fatal(err)
	}
}

// strict is a server on a database with the product's default: supervisor
// and admin must use a second factor. Its clock is now, moved by tests.
type strict struct {
	t   *testing.T
	db  *store.DB
	srv *Server
	now *time.Time
}

func newStrict(t *testing.T) *strict {
	db := storetest.SQLite(t)
	now := time.Now().UTC().Truncate(30 * time.Second)
	db.Now = func() time.Time { return now }
	srv := New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Now = db.Now
	return &strict{t: t, db: db, srv: srv, now: &now}
}

func (s *strict) user(email string, role cases.Role) {
	s.t.Helper()
	if _, _, err := s.db.CreateUser(ctx, "test", email, role); err != nil {
		s.t.Fatal(err)
	}
	if err := s.db.SetPassword(ctx, "test", email, portalPassword, false); err != nil {
		s.t.Fatal(err)
	}
}

// send makes one request with session (may be ""); form nil is a GET body.
func (s *strict) send(session, method, path string, form url.Values) *httptest.ResponseRecorder {
	return sendPage(s.srv, session, method, path, form)
}

// signIn posts the password and returns the new session and where it was
// sent.
func (s *strict) signIn(email string) (string, string) {
	s.t.Helper()
	w := s.send("", "POST", "/login", url.Values{"email": {email}, "password": {portalPassword}})
	c := cookieOf(w)
	if w.Code != http.StatusSeeOther || c == nil {
		s.t.Fatalf("sign in %s: %d %s", email, w.Code, w.Body)
	}
	return c.Value, w.Header().Get("Location")
}

// secondStepRoutes are the routes a password-only session may reach.
func secondStepRoute(path string) bool {
	return path == "/" || path == "/login" || path == "/logout" || strings.HasPrefix(path, "/login/") ||
		(strings.HasPrefix(path, "/account/security") && path != "/account/security/recovery-codes")
}

// walkPending checks that a password-only session reaches no route but
// the second step's: every page sends it to want, every other request is
// refused.
func (s *strict) walkPending(session, want string) {
	s.t.Helper()
	n := 0
	for _, r := range portalRoutesOf(s.srv) {
		method, path := r[0], strings.NewReplacer(":period", "2026-Q3", ":format", "csv", ":package", "x.zip", ":file", "x.pdf", ":hold", "1").Replace(r[1])
		if secondStepRoute(path) {
			continue
		}
		n++
		var form url.Values
		if method != "GET" {
			form = url.Values{"note": {"x"}, "required": {"admin"}, "time_zone": {"UTC"}, "email": {"x@example.org"}, "role": {"admin"}}
		}
		w := s.send(session, method, path, form)
		switch {
		case method == "GET" && w.Code == http.StatusSeeOther && w.Header().Get("Location") == want:
		case method != "GET" && (w.Code == http.StatusForbidden || w.Code == http.StatusUnauthorized):
		default:
			s.t.Errorf("password-only session %s %s: %d → %q", method, path, w.Code, w.Header().Get("Location"))
		}
	}
	if n < 40 {
		s.t.Fatalf("only %d routes walked", n)
	}
}

var (
	secretRe = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	codesRe  = regexp.MustCompile(`<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>`)
)

// A supervisor (second factor on by default) who has none is sent to
// enrolment after the password and can reach nothing else; once enrolled,
// a new sign-in stops at the second step, and again nothing else is
// reachable. A code used once, a wrong code and a spent recovery code are
// refused.
func TestStaffSecondFactorRequiredAndNotBypassable(t *testing.T) {
	// More sign-ins from the test's one address than the per-address
	// throttle lets through (it has its own tests).
	defer func(b int) { LoginBurst = b }(LoginBurst)
	LoginBurst = 100
	s := newStrict(t)
	s.user("sam@example.org", cases.RoleSupervisor)
	s.user("ivy@example.org", cases.RoleIntake)

	// An intake user (not required, none enrolled) is in at once.
	if _, loc := s.signIn("ivy@example.org"); loc != "/dashboard" {
		t.Fatalf("intake after the password: %s", loc)
	}

	sess, loc := s.signIn("sam@example.org")
	if loc != "/account/security" {
		t.Fatalf("supervisor after the password: %s", loc)
	}
	s.walkPending(sess, "/account/security")

	w := s.send(sess, "GET", "/account/security", nil)
	m := secretRe.FindStringSubmatch(w.Body.String())
	if w.Code != 200 || m == nil || !strings.Contains(w.Body.String(), "Your role must sign in with a second factor") {
		t.Fatalf("enrolment page: %d\n%s", w.Code, w.Body)
	}
	if w := s.send(sess, "POST", "/account/security/totp", url.Values{"code": {"000000"}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "not the current code") {
		t.Fatalf("wrong enrolment code: %d", w.Code)
	}
	// The failed try offered a new secret: read it again.
	w = s.send(sess, "GET", "/account/security", nil)
	secret := secretRe.FindStringSubmatch(w.Body.String())[1]
	code, _ := totp.GenerateCode(secret, *s.now)
	w = s.send(sess, "POST", "/account/security/totp", url.Values{"code": {code}})
	codes := codesRe.FindAllStringSubmatch(w.Body.String(), -1)
	if w.Code != 200 || len(codes) != store.RecoveryCodeCount {
		t.Fatalf("enrol: %d, %d codes\n%s", w.Code, len(codes), w.Body)
	}
	if w := s.send(sess, "GET", "/dashboard", nil); w.Code != 200 {
		t.Fatalf("dashboard after enrolment: %d", w.Code)
	}

	// A new sign-in: the second step, and nothing else.
	sess, loc = s.signIn("sam@example.org")
	if loc != "/login/second-factor" {
		t.Fatalf("enrolled supervisor after the password: %s", loc)
	}
	s.walkPending(sess, "/login/second-factor")
	for _, path := range []string{"/account/security/totp", "/account/security/passkeys/begin"} {
		if w := s.send(sess, "POST", path, url.Values{"code": {code}}); w.Code != http.StatusForbidden {
			t.Errorf("password-only %s (adding a factor): %d", path, w.Code)
		}
	}
	if w := s.send(sess, "GET", "/account/security", nil); w.Header().Get("Location") != "/login/second-factor" {
		t.Errorf("password-only security page: %d %s", w.Code, w.Header().Get("Location"))
	}
	if w := s.send(sess, "POST", "/login/second-factor", url.Values{"code": {code}}); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), html.EscapeString(badCode)) {
		t.Fatalf("the enrolment's code again (replay): %d", w.Code)
	}
	*s.now = s.now.Add(30 * time.Second)
	code, _ = totp.GenerateCode(secret, *s.now)
	if w := s.send(sess, "POST", "/login/second-factor", url.Values{"code": {code}}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dashboard" {
		t.Fatalf("right code: %d %s", w.Code, w.Body)
	}
	if w := s.send(sess, "GET", "/cases", nil); w.Code != 200 {
		t.Fatalf("cases after the second step: %d", w.Code)
	}

	// A recovery code works once; the page asked for before sign-in
	// survives the second step (a hostile one does not).
	w = s.send("", "POST", "/login", url.Values{"email": {"sam@example.org"}, "password": {portalPassword}, "next": {"/cases?status=received"}})
	if loc := w.Header().Get("Location"); loc != "/login/second-factor?next=%2Fcases%3Fstatus%3Dreceived" {
		t.Fatalf("sign-in with next: %d %q", w.Code, loc)
	}
	sess = cookieOf(w).Value
	if w := s.send(sess, "GET", "/login/second-factor?next=%2Fcases%3Fstatus%3Dreceived", nil); !strings.Contains(w.Body.String(), `name="next" value="/cases?status=received"`) {
		t.Fatalf("the second step's page does not carry next:\n%s", w.Body)
	}
	if w := s.send(sess, "POST", "/login/second-factor", url.Values{"code": {codes[0][1]}, "next": {"/cases?status=received"}}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/cases?status=received" {
		t.Fatalf("recovery code: %d %q", w.Code, w.Header().Get("Location"))
	}
	sess, _ = s.signIn("sam@example.org")
	if w := s.send(sess, "POST", "/login/second-factor", url.Values{"code": {codes[1][1]}, "next": {"//evil.example/"}}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dashboard" {
		t.Fatalf("a hostile next: %d %q", w.Code, w.Header().Get("Location"))
	}
	sess, _ = s.signIn("sam@example.org")
	if w := s.send(sess, "POST", "/login/second-factor", url.Values{"code": {codes[0][1]}}); w.Code != http.StatusUnauthorized {
		t.Fatalf("spent recovery code: %d", w.Code)
	}
	evs, _, err := s.db.AuditEvents(ctx, store.AuditFilter{Action: "login.second_factor"})
	if err != nil || len(evs) != 3 {
		t.Fatalf("second-factor sign-ins audited: %d %v", len(evs), err)
	}
}

// The second step is throttled per address like the password: a client
// that spent its attempts is answered 429 with Retry-After.
func TestSecondFactorThrottled(t *testing.T) {
	s := newStrict(t)
	s.user("sam@example.org", cases.RoleSupervisor)
	sess, _ := s.signIn("sam@example.org")
	w := s.send(sess, "GET", "/account/security", nil)
	secret := secretRe.FindStringSubmatch(w.Body.String())[1]
	code, _ := totp.GenerateCode(secret, *s.now)
	s.send(sess, "POST", "/account/security/totp", url.Values{"code": {code}})
	sess, _ = s.signIn("sam@example.org")
	for i := range LoginBurst {
		w = s.send(sess, "POST", "/login/second-factor", url.Values{"code": {"12345" + itoa(int64(i%10))}})
		if w.Code == http.StatusTooManyRequests {
			break
		}
	}
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("after %d tries: %d", LoginBurst, w.Code)
	}
}

// An admin sets which roles must use a second factor; a user of a role
// newly required is sent to enrolment at their next page. The change is
// audited, and an unknown role is refused naming the field.
func TestSecondFactorRoleSetting(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	if w := p.page(cases.RoleAdmin, "GET", "/admin/sign-in", nil); w.Code != 200 || strings.Contains(w.Body.String(), `value="admin" checked`) {
		t.Fatalf("settings page (all off in the fixture): %d", w.Code)
	}
	if w := p.page(cases.RoleAdmin, "POST", "/admin/sign-in", url.Values{"required": {"boss"}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "is not a role") {
		t.Fatalf("unknown role: %d", w.Code)
	}
	if w := p.page(cases.RoleReviewer, "POST", "/admin/sign-in", url.Values{"required": {"reviewer"}}); w.Code != http.StatusForbidden {
		t.Fatalf("reviewer changing the setting: %d", w.Code)
	}
	if w := p.page(cases.RoleAdmin, "POST", "/admin/sign-in", url.Values{"required": {"reviewer", "admin"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	if w := p.page(cases.RoleReviewer, "GET", "/dashboard", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account/security" {
		t.Fatalf("reviewer after the change: %d %s", w.Code, w.Header().Get("Location"))
	}
	if w := p.page(cases.RoleIntake, "GET", "/dashboard", nil); w.Code != 200 {
		t.Fatalf("intake after the change: %d", w.Code)
	}
	evs, _, _ := p.db.AuditEvents(ctx, store.AuditFilter{Action: "settings.second_factor"})
	if len(evs) != 2 || evs[0].Actor != p.emails[cases.RoleAdmin] || !strings.Contains(string(evs[0].After), `"reviewer":true`) {
		t.Fatalf("audit: %+v", evs)
	}
}

// Who may use the sign-in routes (access_test.go's table). The second step
// and the security page are for any portal user's own session (a pending
// one included: pendingSession, enrolSession); the agency portal's passkey
// step and security page have the agency's own gate.
func init() {
	for _, r := range []string{
		"GET /agency/passkey", "POST /agency/passkey/begin", "POST /agency/passkey/finish",
		"GET /agency/security", "POST /agency/security/passkeys/begin", "POST /agency/security/passkeys/finish", "POST /agency/security/recovery-codes",
	} {
		routeRoles[r] = public
	}
	for _, r := range []string{"GET /login/second-factor", "POST /login/second-factor", "POST /login/passkey/begin", "POST /login/passkey/finish",
		"GET /account/security", "POST /account/security/totp", "POST /account/security/passkeys/begin",
		"POST /account/security/passkeys/finish", "POST /account/security/recovery-codes"} {
		routeRoles[r] = readers
	}
	routeRoles["GET /admin/sign-in"] = adminsR
	routeRoles["POST /admin/sign-in"] = adminsR
}

// fromAddress sends a form post as a client at address 198.51.100.i, so
// the per-address throttle does not stand in front of the lockout.
func (s *strict) fromAddress(i int, session, path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "198.51.100." + itoa(int64(i%250+1)) + ":40000"
	if session != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: session})
	}
	w := httptest.NewRecorder()
	s.srv.ServeHTTP(w, req)
	return w
}

// Over HTTP, from 30 addresses at once (so no throttle helps): 30 wrong
// passwords, then the right one, is refused with the wrong-password answer
// and no session; then, for an enrolled user past the lock, 30 wrong codes
// at the second step, then the right code, is refused too.
func TestParallelGuessesOverHTTPStayLocked(t *testing.T) {
	s := newStrict(t)
	s.user("sam@example.org", cases.RoleSupervisor)
	sess, _ := s.signIn("sam@example.org")
	w := s.send(sess, "GET", "/account/security", nil)
	secret := secretRe.FindStringSubmatch(w.Body.String())[1]
	code, _ := totp.GenerateCode(secret, *s.now)
	s.send(sess, "POST", "/account/security/totp", url.Values{"code": {code}})

	guess := func(n int, f func(i int) *httptest.ResponseRecorder) {
		done := make(chan int, n)
		for i := range n {
			go func() { done <- f(i).Code }()
		}
		for range n {
			if c := <-done; c != http.StatusUnauthorized {
				t.Errorf("a guess: %d, want 401", c)
			}
		}
	}
	guess(30, func(i int) *httptest.ResponseRecorder {
		return s.fromAddress(i, "", "/login", url.Values{"email": {"sam@example.org"}, "password": {"wrong " + itoa(int64(i))}})
	})
	w = s.fromAddress(200, "", "/login", url.Values{"email": {"sam@example.org"}, "password": {portalPassword}})
	if w.Code != http.StatusUnauthorized || cookieOf(w) != nil || !strings.Contains(w.Body.String(), "wrong email or password") {
		t.Fatalf("the right password after 30 parallel wrong ones: %d", w.Code)
	}

	*s.now = s.now.Add(2 * time.Hour) // past the lock
	sess, loc := s.signIn("sam@example.org")
	if loc != "/login/second-factor" {
		t.Fatalf("after the lock: %s", loc)
	}
	guess(30, func(i int) *httptest.ResponseRecorder {
		return s.fromAddress(i, sess, "/login/second-factor", url.Values{"code": {"00000" + itoa(int64(i%10))}})
	})
	code, _ = totp.GenerateCode(secret, *s.now)
	if w := s.fromAddress(201, sess, "/login/second-factor", url.Values{"code": {code}}); w.Code != http.StatusUnauthorized {
		t.Fatalf("the right code after 30 parallel wrong ones: %d", w.Code)
	}
	if w := s.send(sess, "GET", "/dashboard", nil); w.Header().Get("Location") != "/login/second-factor" {
		t.Fatalf("the session passed while locked: %d", w.Code)
	}
}
