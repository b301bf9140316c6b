// Package web serves the JSON API and the portal with gin. Handlers are thin:
// they decode input, call the cases store and the policy engine, and map
// application error codes to HTTP statuses.
package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/mail"
	"envelope/cases/store"
	"envelope/policy"
	"envelope/web/agency"
	"envelope/web/httpstatus"
)

// MaxBodySize bounds a JSON request body. Uploads have their own limit.
const MaxBodySize = 1 << 20

// Server is the HTTP side of envelope.
type Server struct {
	DB     *store.DB
	Logger *slog.Logger
	// Now returns the current time; tests fix it.
	Now func() time.Time
	// Mail queues outgoing mail (the user notice); nil: none is sent.
	Mail *mail.Mailer
	// AgencyMail, when set, sends the agency portal's mail instead of Mail.
	AgencyMail agency.Mailer
	// Agency holds the agency portal's periods (agency_delivery.go).
	Agency AgencySettings

	policy    atomic.Pointer[policy.Policy]
	engine    *gin.Engine
	admission *admission // see admit.go
	panels    panelCache // the dashboard's shared panels
	zones     zoneCache  // the organisation's time zone (zone.go)

	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (proxy.go); set before serving.
	TrustedProxies []netip.Prefix
	oidc           *oidcProvider // single sign-on, when EnableOIDC set it up (oidc.go)
	portal         *gin.RouterGroup
	// APILimit is each API client's rate limit (apilimit.go); set before
	// serving. New sets DefaultAPILimit.
	APILimit RateLimit
	// limits keeps the buckets of the API limit and the sign-in throttle,
	// shared by every instance on PostgreSQL (limiter.go); local is this
	// instance's own, which the API limit falls back on.
	limits  Limiter
	local   memLimiter
	metrics *metrics // Prometheus, at /metrics (metrics.go)
}

// New returns a server on db deciding with p.
func New(db *store.DB, p *policy.Policy, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{DB: db, Logger: logger, Now: func() time.Time { return time.Now().UTC() }, APILimit: DefaultAPILimit, Agency: DefaultAgencySettings}
	s.limits = newLimiter(db, logger)
	s.policy.Store(p)
	db.SetDueFunc(s.dueOf)
	s.engine = gin.New()
	s.admission = newAdmission(admitSlots())
	s.metrics = newMetrics(s)
	s.engine.Use(s.metrics.observe(), s.requestLog(), s.recoverJSON(), s.loginThrottle(), s.admission.admit())
	s.routes()
	return s
}

// Policy returns the policy in force.
func (s *Server) Policy() *policy.Policy { return s.policy.Load() }

// SetPolicy replaces the policy in force; requests already deciding keep the
// one they started with.
func (s *Server) SetPolicy(p *policy.Policy) { s.policy.Store(p) }

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Engine exposes the router, so tests can list every registered route.
func (s *Server) Engine() *gin.Engine { return s.engine }

// requestLog logs one structured line per request with a request ID that is
// also returned to the client, so a user's report can be matched to the log.
// Query strings are not logged: they may hold search terms about people.
func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		c.Set("request_id", id)
		c.Header("X-Request-ID", id)
		c.Next()
		attrs := []any{"id", id, "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "duration", time.Since(start)}
		if u := currentUser(c); u != nil {
			attrs = append(attrs, "user", u.Email)
		}
		s.Logger.Info("request", attrs...)
	}
}

// recoverJSON turns a panic into a 500 with a request ID, never a stack
// trace in the response.
func (s *Server) recoverJSON() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				s.Logger.Error("panic", "id", c.GetString("request_id"), "panic", r)
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error (request " + c.GetString("request_id") + ")"})
			}
		}()
		c.Next()
	}
}

// statusOf maps an application error code to its HTTP status.
func statusOf(code string) int { return httpstatus.Of(code) }

// apiError writes err as {"error", "fields"} with the status its code maps
// to. Internal errors are logged with the request ID and not shown.
func (s *Server) apiError(c *gin.Context, err error) {
	if clientGone(c, err) {
		s.cancelled(c, err)
		return
	}
	if s.contended(c, err) {
		return
	}
	code := cases.ErrorCode(err)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		code, err = cases.ETOOLARGE, &cases.Error{Code: cases.ETOOLARGE, Message: "request body too large",
			Fields: map[string]string{"body": "is larger than the limit"}}
	}
	body := gin.H{"error": cases.ErrorMessage(err)}
	if f := cases.ErrorFields(err); len(f) > 0 {
		body["fields"] = f
	}
	if code == cases.EINTERNAL {
		s.Logger.Error("internal error", "id", c.GetString("request_id"), "err", err)
		body["error"] = "internal error (request " + c.GetString("request_id") + ")"
	}
	if code == cases.EUNAUTHORIZED {
		c.Header("WWW-Authenticate", `Bearer realm="envelope"`)
	}
	c.AbortWithStatusJSON(statusOf(code), body)
}

const userKey = "envelope_user"

func currentUser(c *gin.Context) *cases.User {
	if u, ok := c.Get(userKey); ok {
		return u.(*cases.User)
	}
	return nil
}

// bearer authenticates an API request by its Bearer token and checks the
// user's role against allow. Every API route goes through it.
func (s *Server) bearer(allow func(*cases.User) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			s.apiError(c, cases.Errorf(cases.EUNAUTHORIZED, "an API token is required (Authorization: Bearer TOKEN)"))
			return
		}
		u, err := s.DB.UserByToken(c.Request.Context(), strings.TrimSpace(token))
		if err != nil {
			if cases.ErrorCode(err) == cases.EUNAUTHORIZED && s.chargeUnknownToken(c) {
				return
			}
			s.apiError(c, err)
			return
		}
		if !allow(u) {
			s.apiError(c, cases.Errorf(cases.EFORBIDDEN, "the %s role may not do this", u.Role))
			return
		}
		c.Set(userKey, u)
		c.Next()
	}
}

// Role predicates for routes.
var (
	anyReader  = (*cases.User).CanRead
	caseLogger = (*cases.User).CanLog
	reviewers  = func(u *cases.User) bool { return u.Role == cases.RoleReviewer || u.Role == cases.RoleSupervisor }
	admins     = func(u *cases.User) bool { return u.Role == cases.RoleAdmin }
	auditors   = func(u *cases.User) bool { return u.Role == cases.RoleAuditor || u.Role == cases.RoleAdmin }
	collectors = func(u *cases.User) bool { return u.Role == cases.RoleCollector }
)

// readBody reads a bounded request body.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	b, err := c.GetRawData()
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, &cases.Error{Code: cases.ETOOLARGE, Message: "request body too large",
				Fields: map[string]string{"body": "is larger than the limit"}}
		}
		return nil, cases.Invalid(map[string]string{"body": "could not be read"})
	}
	return b, nil
}

// bindJSON decodes a small JSON body strictly into v.
func bindJSON(c *gin.Context, v any) error {
	b, err := readBody(c, MaxBodySize)
	if err != nil {
		return err
	}
	return cases.DecodeStrict(b, v)
}
