package web

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
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

// throttle is a token bucket per client address. Buckets that are full
// again are forgotten, so the map holds only addresses seen lately.
type throttle struct {
	mu      sync.Mutex
	buckets map[netip.Addr]*rate.Limiter
	swept   time.Time
}

// allow takes one attempt for a, or says how long until it may try.
func (t *throttle) allow(a netip.Addr, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buckets == nil {
		t.buckets = map[netip.Addr]*rate.Limiter{}
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
		l = rate.NewLimiter(rate.Every(LoginEvery), LoginBurst)
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
		ok, wait := s.logins.allow(s.clientAddr(c.Request), time.Now())
		if !ok {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
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
