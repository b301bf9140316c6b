package web

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
)

// Rate limits per API client (issue 18): one integration gone wrong (a
// loop, a collector replaying its queue) must not take the instance's
// capacity from everyone else. A client is its bearer token; a request
// without one is its address (the client's behind a --trusted-proxy).
// On PostgreSQL the buckets are the database's, shared by every instance
// behind a load balancer (limiter.go); on SQLite, the one instance's.

// RateLimit is a token bucket: Burst requests at once, then one more every
// Every. A zero Every is no limit.
type RateLimit struct {
	Every time.Duration
	Burst int
}

// DefaultAPILimit lets a client send 100 requests a second, and bursts of
// 200: far above what a person or a well-behaved integration sends
// (a collector posts events in batches), far below what one instance
// serves.
var DefaultAPILimit = RateLimit{Every: 10 * time.Millisecond, Burst: 200}

// apiClientKey names the client of an API request for its rate limit. A
// token is hashed, so the buckets do not hold credentials. It is trimmed
// as bearer trims it: each spelling of one token ("Bearer  TOKEN", with
// any run of spaces) is that token, not a bucket of its own.
func (s *Server) apiClientKey(c *gin.Context) string {
	if tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok && strings.TrimSpace(tok) != "" {
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		return fmt.Sprintf("token:%x", sum[:12])
	}
	return s.addrKey(c.Request)
}

// apiThrottle answers 429 with Retry-After to an API request from a client
// that has spent its burst, before the token is looked up. A request
// with a token is also refused, without spending, while its address is
// known to be refused: made-up tokens are counted against their address
// once refused (chargeUnknownToken), and then cost no lookup.
//
// Should the shared buckets not answer, the request is checked against
// this instance's own buckets instead (s.local), as before they were
// shared: the limit then holds per instance, n times over behind n
// instances, rather than not at all, and a database slow for a moment
// does not refuse every well-behaved integration. The request itself goes
// on to need the database, and fails there if it is down.
func (s *Server) apiThrottle() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.APILimit.Every <= 0 {
			return
		}
		now, key := time.Now(), s.apiClientKey(c)
		if strings.HasPrefix(key, "token:") {
			if wait := s.limits.Refused(limitAPI, s.addrKey(c.Request), now); wait > 0 {
				s.tooManyAPI(c, now, wait)
				return
			}
		}
		s.takeAPI(c, key, now)
	}
}

// chargeUnknownToken counts a request whose token is no API token against
// its address, as a request without one: each made-up token would
// otherwise be a client of its own, and never limited. It reports whether
// the request was answered (429, or cancelled) rather than left to be
// answered 401.
func (s *Server) chargeUnknownToken(c *gin.Context) bool {
	if s.APILimit.Every <= 0 {
		return false
	}
	return !s.takeAPI(c, s.addrKey(c.Request), time.Now())
}

// takeAPI spends one request of the client key under the API limit, and
// answers the request (and reports false) if it is refused.
func (s *Server) takeAPI(c *gin.Context, key string, now time.Time) bool {
	l := s.APILimit
	ok, wait, err := s.limits.Take(c.Request.Context(), limitAPI, key, now, l)
	if err != nil {
		if clientGone(c, err) {
			s.cancelled(c, err)
			return false
		}
		s.metrics.limitErrors.WithLabelValues(limitAPI).Inc()
		s.Logger.Warn("shared API rate limit unavailable: this instance's own buckets decide", "id", c.GetString("request_id"), "err", err)
		ok, wait, _ = s.local.Take(c.Request.Context(), limitAPI, key, now, l)
	}
	if !ok {
		s.tooManyAPI(c, now, wait)
	}
	return ok
}

// tooManyAPI answers 429 with Retry-After to a request refused for wait.
func (s *Server) tooManyAPI(c *gin.Context, now time.Time, wait time.Duration) {
	l := s.APILimit
	after := retryAfter(now.Add(wait), now)
	c.Header("Retry-After", after)
	s.apiError(c, cases.Errorf(cases.ETOOMANY, "too many requests from this client: at most %d at once and %.0f a second; retry after %s s",
		max(l.Burst, 1), float64(time.Second)/float64(l.Every), after))
	c.Abort()
}
