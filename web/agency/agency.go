// Package agency is the agency portal (issue 14): officers of a directory
// agency register, confirm their email, enrol TOTP, sign in with password
// and code, submit requests, follow them, withdraw them, answer
// clarifications, and download what is produced. It lives apart from the
// staff portal: its own routes under /agency/, its own templates, its own
// session cookie scoped to /agency, and its own accounts (store.Officer),
// which no staff role check can ever accept.
package agency

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter"
	"envelope/policy"
	"envelope/web/httpstatus"
)

// Mailer sends one email. The mail queue (cases/mail) will implement it;
// without one the portal logs each message, link included, so nothing is
// lost (and serve --demo shows the links).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// ErrNoMailer is what a Mailer answers when no mail is configured: the
// portal then logs the message, as without a Mailer.
var ErrNoMailer = errors.New("no mail configured")

// Deps is what the portal needs from the server; package web fills it.
type Deps struct {
	DB     *store.DB
	Policy func() *policy.Policy
	Logger *slog.Logger
	Mailer Mailer
	// Now is the server's clock (tests move it).
	Now func() time.Time
	// Due computes a submitted request's due date and reads its dates in
	// the organisation's zone as staff intake does; nil leaves it unset.
	Due  func(c *gin.Context, req *cases.Request) error
	Zone func(c *gin.Context) *time.Location
	// Packages opens the exporter, for downloads.
	Packages func() (*exporter.Exporter, error)
	// DownloadKey signs download links; nil takes a random key, so links
	// end with the process.
	DownloadKey []byte
	// DownloadTTL is how long a download link works (default 15 minutes).
	DownloadTTL time.Duration
	// Thread returns the hook that queues, in a message's transaction,
	// the mail telling the legal team; nil: no mail.
	Thread func(ctx context.Context) store.MessageHook
	// Reverify is how long an officer's email confirmation lasts before
	// they must confirm it again (0: for ever).
	Reverify func() time.Duration
	// SignInLimit says whether the client may try a sign-in now, and if
	// not, the Retry-After value: the staff portal's per-address
	// throttle, so one address cannot spread guesses over both portals.
	// An error is a throttle that could not tell (logged by it): the
	// sign-in is refused all the same. Nil: no limit.
	SignInLimit func(c *gin.Context) (ok bool, retryAfter string, err error)
	// Secure says whether the client reached the site over TLS, directly
	// or through a trusted proxy that says so (serve --trusted-proxy): the
	// session cookie is Secure, links are https and passkeys are bound to
	// the https origin then. Nil: only a direct TLS connection.
	Secure func(r *http.Request) bool
}

// SessionCookie is the agency portal's session cookie, scoped to /agency
// so a browser never sends it to a staff route.
const SessionCookie = "envelope_agency"

//go:embed templates/*.html
var templateFS embed.FS

var funcs = template.FuncMap{
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v != nil {
				return v.UTC().Format("2006-01-02 15:04 UTC")
			}
		}
		return ""
	},
	"stage": stage,
}

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		out[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}()

// stage is the status an officer sees: the agency's view of the case, not
// the legal team's internal states.
func stage(s cases.Status) string {
	switch s {
	case cases.StatusReceived:
		return "Received"
	case cases.StatusApproved:
		return "In review"
	case cases.StatusNeedsClarification:
		return "Needs clarification"
	case cases.StatusProduced:
		return "Produced"
	}
	return "Closed"
}

type portal struct {
	Deps
	key []byte
}

// Register adds the agency portal's routes to e.
func Register(e *gin.Engine, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.DownloadTTL == 0 {
		d.DownloadTTL = 15 * time.Minute
	}
	p := &portal{Deps: d, key: d.DownloadKey}
	if p.key == nil {
		p.key = make([]byte, 32)
		rand.Read(p.key)
	}
	cop := http.NewCrossOriginProtection()
	g := e.Group("/agency", headers, func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			p.fail(c, http.StatusForbidden, "This form was sent from another site, so it was refused.")
			return
		}
		c.Next()
	})
	g.GET("", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/agency/cases") })
	g.GET("/", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/agency/cases") })
	g.GET("/register", p.registerPage)
	g.POST("/register", p.register)
	g.GET("/verify", p.verifyPage)
	g.POST("/verify", p.verify)
	g.GET("/login", p.loginPage)
	g.POST("/login", p.login)
	g.POST("/logout", p.logout)
	// Enrolment needs a session but not yet a second factor; every other
	// route needs both.
	g.GET("/totp", p.session(false), p.totpPage)
	g.POST("/totp", p.session(false), p.totpConfirm)
	// Re-verification is asked for once the second factor passed; the
	// routes that ask for it and spend its link are outside the check.
	g.POST("/reverify", p.session(true), p.reverifySend)
	g.GET("/reverify", p.reverifyPage)
	g.POST("/reverify/confirm", p.reverify)
	full := g.Group("", p.session(true), p.confirmed)
	full.GET("/cases", p.casesPage)
	full.GET("/cases/new", p.submitPage)
	full.POST("/cases/new", p.submit)
	full.GET("/cases/:id", p.casePage)
	full.POST("/cases/:id/withdraw", p.withdraw)
	full.POST("/cases/:id/answer", p.answer)
	full.POST("/cases/:id/followers", p.addFollower)
	full.POST("/cases/:id/packages/:pkg/acknowledge", p.acknowledge)
	full.GET("/download/:token", p.download)
	full.POST("/cases/:id/messages", p.postMessage)
	full.GET("/cases/:id/files/:file", p.messageFile)
	p.securityRoutes(g, full)
}

// headers keep agency pages out of caches and frames, like staff pages.
func headers(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Next()
}

const officerKey = "agency_officer"

// session admits a request with a live agency session. Without one a page
// goes to the sign-in page and anything else is 401; with one whose second
// factor has not passed (not enrolled yet), mfa routes send a page to
// enrolment and refuse anything else with 403.
func (p *portal) session(mfa bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		cookie, _ := c.Cookie(SessionCookie)
		o, passed, err := p.DB.OfficerSession(c.Request.Context(), cookie)
		if err != nil {
			if cases.ErrorCode(err) != cases.EUNAUTHORIZED {
				p.internal(c, err)
				return
			}
			if c.Request.Method == http.MethodGet {
				c.Redirect(http.StatusSeeOther, "/agency/login")
				c.Abort()
				return
			}
			p.fail(c, http.StatusUnauthorized, "Sign in first.")
			return
		}
		if mfa && !passed {
			if c.Request.Method == http.MethodGet {
				c.Redirect(http.StatusSeeOther, secondStep(o))
				c.Abort()
				return
			}
			p.fail(c, http.StatusForbidden, "Set up your authenticator app first.")
			return
		}
		c.Set(officerKey, o)
		c.Next()
	}
}

func officer(c *gin.Context) *store.Officer {
	o, _ := c.Get(officerKey)
	v, _ := o.(*store.Officer)
	return v
}

type view struct {
	Title   string
	Officer *store.Officer
	Flash   string
	Error   string
	Fields  map[string]string
	Data    any
}

func (p *portal) render(c *gin.Context, status int, name, title string, v view) {
	v.Title, v.Officer = title, officer(c)
	if v.Flash == "" {
		v.Flash = flashes[c.Query("done")]
	}
	var b strings.Builder
	if err := pages[name].ExecuteTemplate(&b, "layout", v); err != nil {
		p.Logger.Error("render agency page", "page", name, "err", err)
		c.String(http.StatusInternalServerError, "could not render the page")
		c.Abort()
		return
	}
	c.Data(status, "text/html; charset=utf-8", []byte(b.String()))
	c.Abort()
}

var flashes = map[string]string{
	"registered": "Check your email: the link in it confirms your address.",
	"verified":   "Your email is confirmed. Sign in to set up your authenticator app.",
	"enrolled":   "Your authenticator app is set up.",
	"submitted":  "Your request was received.",
	"withdrawn":  "Your request was withdrawn.",
	"answered":   "Your answer was sent to the legal team.",
	"sent":       "Your message was sent to the legal team.",
	"reverify":   "Check your email: the link in it confirms your address again.",
	"reverified": "Your email is confirmed again. Thank you.",
	"ack":        "Receipt acknowledged. Thank you.",
	"followed":   "Your colleague can now follow this request.",
	"logout":     "You are signed out.",
	"passkey":    "Passkey registered.",
}

func (p *portal) fail(c *gin.Context, status int, msg string) {
	p.render(c, status, "message", "Error", view{Error: msg})
}

// failErr answers a store error with its status and message.
func (p *portal) failErr(c *gin.Context, err error) {
	code := cases.ErrorCode(err)
	if code == "" || code == cases.EINTERNAL {
		p.internal(c, err)
		return
	}
	p.fail(c, statusOf(code), cases.ErrorMessage(err))
}

func (p *portal) internal(c *gin.Context, err error) {
	p.Logger.Error("agency portal", "path", c.FullPath(), "err", err)
	p.fail(c, http.StatusInternalServerError, "Something went wrong on our side.")
}

// statusOf maps an application error code to its HTTP status.
func statusOf(code string) int { return httpstatus.Of(code) }

// send mails one message, or logs it when there is no mailer or it fails:
// a link is never dropped.
func (p *portal) send(c *gin.Context, to, subject, body string) {
	if p.Mailer != nil {
		err := p.Mailer.Send(c.Request.Context(), to, subject, body)
		if err == nil {
			return
		}
		if errors.Is(err, ErrNoMailer) {
			p.Logger.Info("agency mail (no mailer)", "to", to, "subject", subject, "body", body)
			return
		}
		p.Logger.Error("agency mail failed; logged instead", "to", to, "err", err)
	}
	p.Logger.Info("agency mail (no mailer)", "to", to, "subject", subject, "body", body)
}

// secure reports whether the client reached the site over TLS (Deps.Secure).
func (p *portal) secure(c *gin.Context) bool {
	if p.Secure != nil {
		return p.Secure(c.Request)
	}
	return c.Request.TLS != nil
}

// base is this site's address, for links in emails.
func (p *portal) base(c *gin.Context) string {
	scheme := "http"
	if p.secure(c) {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host
}

func (p *portal) setCookie(c *gin.Context, v string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: v, Path: "/agency", MaxAge: maxAge,
		HttpOnly: true, Secure: p.secure(c), SameSite: http.SameSiteStrictMode})
}
