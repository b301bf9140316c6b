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

// throttled are the sign-in steps that take a secret: the password, and
// the second step's codes (a wrong code also counts against the account).
var throttled = map[string]bool{"/login": true, "/login/second-factor": true}

// signInAllowed spends one of the client address's sign-in attempts, and
// says when to retry if none is left: for the agency portal's sign-in,
// which shares the staff sign-in's buckets.
func (s *Server) signInAllowed(c *gin.Context) (bool, string) {
	now := time.Now()
	ok, wait := s.logins.allow(s.clientAddr(c.Request), now, LoginEvery, LoginBurst)
	return ok, retryAfter(now.Add(wait), now)
}

// loginThrottle answers 429 with Retry-After to a sign-in from an address
// that has spent its attempts. The password is not checked and the attempt
// does not count against the account.
func (s *Server) loginThrottle() gin.HandlerFunc {
	return func(c *gin.Context) {
		path := c.Request.URL.Path
		if c.Request.Method != http.MethodPost || !throttled[path] {
			c.Next()
			return
		}
		if ok, retry := s.signInAllowed(c); !ok {
			c.Header("Retry-After", retry)
			if path != "/login" {
				s.portalError(c, http.StatusTooManyRequests, "Too many sign-in tries from your address. Wait a little, then try again.")
				return
			}
			s.render(c, http.StatusTooManyRequests, "login", "Sign in", loginData{Email: c.PostForm("email"), Next: c.PostForm("next"),
				Message: "Too many sign-ins from your address. Wait a little, then try again."})
			c.Abort()
			return
		}
		c.Next()
	}
}
