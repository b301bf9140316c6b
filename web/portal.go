package web

import (
	"bytes"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
)

// The portal: server-rendered pages for the legal team. Templates and the
// style sheet are embedded, so the binary is the whole deployment; pages
// work without JavaScript.

//go:embed templates/*.html templates/parts/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// SessionCookie names the portal's session cookie. It holds a random session
// ID; the session itself lives in the database.
const SessionCookie = "envelope_session"

// portalPages are the pages parsed once in UTC, so that a template error
// stops the start; pagesIn gives those of other zones.
var portalPages = pagesIn(time.UTC)

// portalRoutes registers the portal. Every route but the sign-in page and
// the static files goes through s.signedIn with the roles it allows, and
// every route passes the cross-origin check, which refuses state-changing
// requests another site makes the browser send.
func (s *Server) portalRoutes() {
	cop := http.NewCrossOriginProtection()
	p := s.engine.Group("/", s.portalHeaders(), func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			s.portalError(c, http.StatusForbidden, "This form was sent from another site, so it was refused. Reload the page and try again.")
			return
		}
		c.Next()
	})
	sub, _ := fs.Sub(staticFS, "static")
	s.engine.StaticFS("/static", filesOnly{http.FS(sub)})

	p.GET("/", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/dashboard") })
	p.GET("/login", s.loginPage)
	p.POST("/login", s.login)
	p.POST("/logout", s.logout)
	p.GET("/password", s.signedIn(anyPortalUser), s.passwordPage)
	p.POST("/password", s.signedIn(anyPortalUser), s.changePassword)
	s.secondFactorRoutes(p)
	s.portal = p // single sign-on adds its routes here when enabled

	p.GET("/dashboard", s.signedIn(anyReader), s.dashboard)
	p.GET("/cases", s.signedIn(anyReader), s.casesPage)
	p.GET("/cases/new", s.signedIn(caseLogger), s.intakePage)
	p.POST("/cases/new", s.signedIn(caseLogger), s.intakeSubmit)
	p.GET("/cases/:id", s.signedIn(anyReader), s.casePage)
	p.POST("/cases/:id/review", s.signedIn(reviewers), s.reviewSubmit)
	p.POST("/cases/:id/notes", s.signedIn(caseLogger), s.noteSubmit)
	p.POST("/cases/:id/verifications", s.signedIn(caseLogger), s.caseVerify)
	p.POST("/cases/:id/document", s.signedIn(caseLogger), s.documentSubmit)
	p.GET("/cases/:id/document", s.signedIn(anyReader), s.documentDownload)

	s.disclosureRoutes(p)
	s.portalLetterRoutes(p)
	s.caseworkPortalRoutes(p)
	s.threadPortalRoutes(p)

	p.GET("/reports", s.signedIn(anyReader), s.reportPage)
	p.GET("/reports/:period/:format", s.signedIn(anyReader), s.reportDownload)
	s.adminRoutes(p)
	s.orgRoutes(p)
}

// filesOnly serves files and refuses directories, so /static/ is a 404
// rather than a listing of what the portal ships.
type filesOnly struct{ fs http.FileSystem }

func (f filesOnly) Open(name string) (http.File, error) {
	file, err := f.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := file.Stat(); err != nil || st.IsDir() {
		file.Close()
		return nil, fs.ErrNotExist
	}
	return file, nil
}

// anyPortalUser may manage their own password (and sign out); everything
// else names the roles it allows.
var anyPortalUser = func(u *cases.User) bool { return u.CanRead() }

// portalHeaders keeps pages out of caches (they show personal data), out of
// frames, and limits what a page may load to envelope itself.
func (s *Server) portalHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		c.Next()
	}
}

// signedIn authenticates a portal request by its session cookie and checks
// the user's role against allow. Signed out, the browser is sent to the
// sign-in page (and back afterwards); a user who must change their password
// can do nothing else first; a role that may not is answered 403.
func (s *Server) signedIn(allow func(*cases.User) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		cookie, _ := c.Cookie(SessionCookie)
		st, err := s.DB.StaffSession(c.Request.Context(), cookie)
		if err != nil {
			if cases.ErrorCode(err) != cases.EUNAUTHORIZED {
				s.portalFail(c, err)
				return
			}
			if cookie != "" {
				s.clearSessionCookie(c)
			}
			next := c.Request.URL.RequestURI()
			if c.Request.Method != http.MethodGet {
				next = c.Request.URL.Path
			}
			c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(next))
			c.Abort()
			return
		}
		if !s.secondFactorGate(c, st) {
			return
		}
		u := st.User
		c.Set(userKey, u)
		s.zone(c) // the zone this page reads and shows times in
		if u.MustChangePassword && c.Request.URL.Path != "/password" {
			c.Redirect(http.StatusSeeOther, "/password")
			c.Abort()
			return
		}
		if !allow(u) {
			s.portalError(c, http.StatusForbidden, "Your role ("+string(u.Role)+") may not do this.")
			return
		}
		c.Next()
	}
}

// page is what every template gets.
type page struct {
	Title string
	User  *cases.User
	Now   time.Time
	Path  string
	Flash string
	Error string
	// Problems are the fields the error is about: the summary lists and
	// links them.
	Problems []fieldProblem
	Data     any
}

func (s *Server) render(c *gin.Context, status int, name, title string, data any) {
	t, ok := pagesIn(s.viewZone(c))[name]
	if !ok {
		panic("no template " + name)
	}
	p := page{Title: title, User: currentUser(c), Now: s.Now(), Path: c.Request.URL.Path, Data: data,
		Flash: flashes[c.Query("done")]}
	if e, ok := data.(interface{ ErrorText() string }); ok {
		p.Error = e.ErrorText()
	}
	if e, ok := data.(interface{ Problems() []fieldProblem }); ok && p.Error != "" {
		p.Problems = e.Problems()
	}
	// A page is rendered whole before it is sent, so a template error is a
	// clean 500; the buffer is reused (pages are 10-60 KB, and growing a
	// new one to that size was a quarter of a list page's allocations).
	buf := pages.Get().(*bytes.Buffer)
	buf.Reset()
	defer pages.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", p); err != nil {
		s.Logger.Error("render", "template", name, "err", err, "id", c.GetString("request_id"))
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	// Data copies the page (into the admission's buffer, or the
	// connection's), so buf is free again once it returns.
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// pages are the buffers pages are rendered into.
var pages = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// flashes are the confirmations a redirect can ask for (?done=...): a fixed
// set, so no one can make the portal display text of their choosing.
var flashes = map[string]string{
	"created":             "Case logged.",
	"verified":            "Callback recorded.",
	"approved":            "Case approved.",
	"rejected":            "Case rejected.",
	"note":                "Note added.",
	"document":            "Document uploaded.",
	"password":            "Password changed.",
	"profile":             "Your time zone is saved.",
	"logout":              "You are signed out.",
	"tokens":              "API tokens revoked.",
	"second-factor-reset": "Second factors removed and sessions ended: the user sets up a new one at their next sign-in if their role requires it.",
	"agency-added":        "Agency added.",
	"user-saved":          "User saved.",
	"agency-saved":        "Agency saved.",
	"org-saved":           "Organisation profile saved.",
	"letter":              "Letter produced.",
	"policy":              "The new policy is in force.",
	"exported":            "Disclosure package produced: download it below.",
	"extended":            "Preservation hold extended by 90 days.",
	"hold-placed":         "Legal hold placed: nothing of this case will be purged until it is released.",
	"hold-released":       "Legal hold released.",
	"settings":            "Settings saved.",
	"passkey":             "Passkey registered.",
	"totp":                "Authenticator app set up.",
}

type messageData struct{ Message string }

func (m messageData) ErrorText() string { return m.Message }

// portalError answers with an error page.
func (s *Server) portalError(c *gin.Context, status int, msg string) {
	title := http.StatusText(status)
	s.render(c, status, "error", title, messageData{msg})
	c.Abort()
}

// portalFail answers an application error with its status and message;
// internal errors are logged, not shown.
func (s *Server) portalFail(c *gin.Context, err error) {
	if clientGone(c, err) {
		s.cancelled(c, err)
		return
	}
	if s.contended(c, err) {
		return
	}
	code := cases.ErrorCode(err)
	msg := cases.ErrorMessage(err)
	if code == cases.EINTERNAL {
		s.Logger.Error("internal error", "id", c.GetString("request_id"), "err", err)
		msg = "Something went wrong on our side (request " + c.GetString("request_id") + ")."
	}
	s.portalError(c, statusOf(code), msg)
}

func (s *Server) setSessionCookie(c *gin.Context, token string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: token, Path: "/",
		HttpOnly: true, Secure: s.secure(c.Request), SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSessionCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(c.Request), SameSite: http.SameSiteLaxMode})
}

// safeNext keeps a post-sign-in redirect on this site: a local path, never
// "//evil.example" or a full URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/login") {
		return "/dashboard"
	}
	return next
}

type loginData struct {
	Email, Next, Message string
	SSO                  bool // single sign-on is offered
}

func (d loginData) ErrorText() string { return d.Message }

func (s *Server) loginPage(c *gin.Context) {
	if cookie, _ := c.Cookie(SessionCookie); cookie != "" {
		if _, err := s.DB.SessionUser(c.Request.Context(), cookie); err == nil {
			c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
			return
		}
	}
	s.render(c, http.StatusOK, "login", "Sign in", loginData{Next: c.Query("next"), SSO: s.oidc != nil})
}

// badLogin is the sign-in form's one answer to a refused sign-in.
const badLogin = "Sign-in refused: wrong email or password. After too many wrong tries an account is locked for a while."

func (s *Server) login(c *gin.Context) {
	email, password, next := c.PostForm("email"), c.PostForm("password"), c.PostForm("next")
	u, err := s.DB.Authenticate(c.Request.Context(), email, password)
	if err == nil && !u.CanRead() {
		err = cases.Errorf(cases.EFORBIDDEN, "this account cannot use the portal")
	}
	if err != nil {
		// Unknown, disabled, locked and wrong password get one answer, so
		// the form tells nobody which accounts exist or are locked; the
		// audit log records which it was.
		var locked *store.LockedError
		status, msg := http.StatusUnauthorized, badLogin
		switch {
		case errors.As(err, &locked), cases.ErrorCode(err) == cases.EUNAUTHORIZED:
		case cases.ErrorCode(err) == cases.EFORBIDDEN:
			status, msg = http.StatusForbidden, cases.ErrorMessage(err)
		default:
			s.portalFail(c, err)
			return
		}
		s.render(c, status, "login", "Sign in", loginData{Email: email, Next: next, Message: msg, SSO: s.oidc != nil})
		return
	}
	// A new session ID at every sign-in: a session ID planted before
	// sign-in (session fixation) is never promoted.
	if old, _ := c.Cookie(SessionCookie); old != "" {
		s.DB.RevokeSession(c.Request.Context(), old)
	}
	token, err := s.DB.CreateSession(c.Request.Context(), u.ID)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	s.setSessionCookie(c, token)
	// A second factor due (the user has one, or their role requires one)
	// comes before anything else, the password change included.
	st, err := s.DB.StaffSession(c.Request.Context(), token)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	switch {
	case st.Pending() && st.Enrolled:
		// The page asked for before sign-in survives the second step.
		to := "/login/second-factor"
		if n := safeNext(next); next != "" && n != "/dashboard" {
			to += "?next=" + url.QueryEscape(n)
		}
		c.Redirect(http.StatusSeeOther, to)
	case st.Pending():
		c.Redirect(http.StatusSeeOther, "/account/security")
	case u.MustChangePassword:
		c.Redirect(http.StatusSeeOther, "/password")
	default:
		c.Redirect(http.StatusSeeOther, safeNext(next))
	}
}

func retryAfter(until, now time.Time) string {
	secs := int(until.Sub(now).Seconds()) + 1
	if secs < 1 {
		secs = 1
	}
	return itoa(int64(secs))
}

func (s *Server) logout(c *gin.Context) {
	if cookie, _ := c.Cookie(SessionCookie); cookie != "" {
		if err := s.DB.RevokeSession(c.Request.Context(), cookie); err != nil {
			s.portalFail(c, err)
			return
		}
	}
	s.clearSessionCookie(c)
	c.Redirect(http.StatusSeeOther, "/login?done=logout")
}

type passwordData struct {
	Forced  bool
	Fields  map[string]string
	Message string
}

func (d passwordData) ErrorText() string { return d.Message }

func (s *Server) passwordPage(c *gin.Context) {
	s.render(c, http.StatusOK, "password", "Change your password", passwordData{Forced: currentUser(c).MustChangePassword})
}

func (s *Server) changePassword(c *gin.Context) {
	u := currentUser(c)
	d := passwordData{Forced: u.MustChangePassword}
	next := c.PostForm("password")
	if next != c.PostForm("confirm") {
		d.Fields = map[string]string{"confirm": "does not match the new password"}
		d.Message = "The password was not changed."
		s.render(c, http.StatusBadRequest, "password", "Change your password", d)
		return
	}
	cookie, _ := c.Cookie(SessionCookie)
	if err := s.DB.ChangePassword(c.Request.Context(), u, c.PostForm("current"), next, cookie); err != nil {
		if cases.ErrorCode(err) != cases.EINVALID {
			s.portalFail(c, err)
			return
		}
		d.Fields = cases.ErrorFields(err)
		d.Message = "The password was not changed."
		s.render(c, http.StatusBadRequest, "password", "Change your password", d)
		return
	}
	c.Redirect(http.StatusSeeOther, "/dashboard?done=password")
}
