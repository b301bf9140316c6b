package web

import (
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// Sign-in throttling per client address, on top of the per-account lockout:
// the lockout stops guessing one account's password, this stops one client
// from trying a password against many accounts (or locking them all out).
var (
	// LoginBurst is how many sign-ins one address may send at once.
	LoginBurst = 10
	// LoginEvery is how often an address earns one more sign-in attempt
	// once its burst is spent: 10 a minute.
	LoginEvery = 6 * time.Second
)

// throttle is a token bucket per client (an address, a token). Buckets
// that are full again are forgotten, so the map holds only clients seen
// lately.
type throttle[K comparable] struct {
	mu      sync.Mutex
	buckets map[K]*rate.Limiter
	swept   time.Time
}

// allow takes one attempt for a, whose bucket holds burst and gains one
// every every, or says how long until it may try.
func (t *throttle[K]) allow(a K, now time.Time, every time.Duration, burst int) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buckets == nil {
		t.buckets = map[K]*rate.Limiter{}
	}
	if now.Sub(t.swept) > time.Minute {
		for k, l := range t.buckets {
			if l.TokensAt(now) >= float64(l.Burst()) {
				delete(t.buckets, k)
			}
		}
		t.swept = now
	}
	l := t.buckets[a]
	if l == nil {
		l = rate.NewLimiter(rate.Every(every), burst)
		t.buckets[a] = l
	}
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// refused says how long a's bucket would refuse at now, spending nothing
// (0: it would admit, or a has no bucket, which is a full one).
func (t *throttle[K]) refused(a K, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.buckets[a]
	if l == nil {
		return 0
	}
	tokens := l.TokensAt(now)
	if tokens >= 1 || l.Limit() <= 0 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(l.Limit()) * float64(time.Second))
}

// throttled are the sign-in steps that take a secret: the password, and
// the second step's codes (a wrong code also counts against the account).
var throttled = map[string]bool{"/login": true, "/login/second-factor": true}

// signInRetry is the Retry-After of a sign-in refused because the
// throttle could not be checked: a database that did not answer.
const signInRetry = "2"

// signInAllowed spends one of the client address's sign-in attempts, and
// says when to retry if none is left. The agency portal's sign-in calls it
// too: one bucket per address over both portals, and, on PostgreSQL, over
// every instance. Should the buckets not answer, it refuses (err set, and
// logged here): a sign-in unthrottled is the password guessing the
// throttle is there to stop, and a sign-in needs the database anyway.
func (s *Server) signInAllowed(c *gin.Context) (bool, string, error) {
	now := time.Now()
	ok, wait, err := s.limits.Take(c.Request.Context(), limitSignIn, s.addrKey(c.Request), now,
		RateLimit{Every: LoginEvery, Burst: LoginBurst})
	if err != nil {
		if clientGone(c, err) {
			s.Logger.Info("request cancelled by its client", "id", c.GetString("request_id"), "path", c.Request.URL.Path, "err", err)
		} else {
			s.metrics.limitErrors.WithLabelValues(limitSignIn).Inc()
			s.Logger.Error("sign-in throttle unavailable: the sign-in is refused", "id", c.GetString("request_id"), "err", err)
		}
		return false, signInRetry, err
	}
	return ok, retryAfter(now.Add(wait), now), nil
}

// loginThrottle answers 429 with Retry-After to a sign-in from an address
// that has spent its attempts, and 503 when the throttle could not tell.
// The password is not checked and the attempt does not count against the
// account.
func (s *Server) loginThrottle() gin.HandlerFunc {
	return func(c *gin.Context) {
		path := c.Request.URL.Path
		if c.Request.Method != http.MethodPost || !throttled[path] {
			c.Next()
			return
		}
		ok, retry, err := s.signInAllowed(c)
		if ok {
			c.Next()
			return
		}
		c.Header("Retry-After", retry)
		status, msg := http.StatusTooManyRequests, "Too many sign-ins from your address. Wait a little, then try again."
		if path != "/login" {
			msg = "Too many sign-in tries from your address. Wait a little, then try again."
		}
		if err != nil {
			status, msg = http.StatusServiceUnavailable, "Sign-in is unavailable for a moment. Try again shortly."
		}
		if path != "/login" {
			s.portalError(c, status, msg)
			return
		}
		s.render(c, status, "login", "Sign in", loginData{Email: c.PostForm("email"), Next: c.PostForm("next"), Message: msg})
		c.Abort()
	}
}
