package agency

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"envelope/cases"
	"envelope/cases/store"
)

// totpOpts are the authenticator apps' defaults (RFC 6238: 30 s, 6 digits,
// SHA-1), which every app understands.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// CheckCode returns the time step a TOTP code is valid for at at, allowing
// one step of clock drift either way, or 0. The step lets the store refuse
// a code used before.
func CheckCode(secret, code string, at time.Time) int64 {
	if len(code) != 6 || secret == "" {
		return 0
	}
	for _, d := range []time.Duration{0, -30 * time.Second, 30 * time.Second} {
		t := at.Add(d)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30
		}
	}
	return 0
}

type registerForm struct {
	AgencyID           string
	Email, Name, Phone string
	Agencies           []*store.AgencyEntry
}

func (p *portal) registerPage(c *gin.Context) {
	p.renderRegister(c, http.StatusOK, view{}, registerForm{})
}

func (p *portal) renderRegister(c *gin.Context, status int, v view, f registerForm) {
	var err error
	if f.Agencies, err = p.DB.Agencies(c.Request.Context()); err != nil {
		p.internal(c, err)
		return
	}
	v.Data = f
	p.render(c, status, "register", "Register", v)
}

// register creates an unverified officer and mails the verification link.
func (p *portal) register(c *gin.Context) {
	f := registerForm{AgencyID: c.PostForm("agency"), Email: c.PostForm("email"), Name: c.PostForm("name"), Phone: c.PostForm("phone")}
	id, _ := strconv.ParseInt(f.AgencyID, 10, 64)
	o, token, err := p.DB.RegisterOfficer(c.Request.Context(), id, f.Email, f.Name, f.Phone, c.PostForm("password"))
	if cases.ErrorCode(err) == cases.ECONFLICT {
		// The address has an account: the answer is the same as for a new
		// one, so registration tells no one which officers exist; the
		// owner is told instead.
		p.send(c, strings.ToLower(strings.TrimSpace(f.Email)), "Someone tried to register your email on the envelope agency portal",
			"Your address already has an account. If this was you, sign in at "+p.base(c)+"/agency/login. If not, you can ignore this message.")
		c.Redirect(http.StatusSeeOther, "/agency/login?done=registered")
		return
	}
	if err != nil {
		if cases.ErrorCode(err) == cases.EINTERNAL || cases.ErrorCode(err) == "" {
			p.internal(c, err)
			return
		}
		p.renderRegister(c, statusOf(cases.ErrorCode(err)), view{Error: cases.ErrorMessage(err), Fields: cases.ErrorFields(err)}, f)
		return
	}
	link := p.base(c) + "/agency/verify?token=" + url.QueryEscape(token)
	p.send(c, o.Email, "Confirm your email for the envelope agency portal",
		"Open this link to confirm your email address (it works for 24 hours):\n\n"+link+"\n\nIf you did not register, ignore this message.")
	c.Redirect(http.StatusSeeOther, "/agency/login?done=registered")
}

// verifyPage asks for a click: a mail scanner that fetches the link does
// not spend it.
func (p *portal) verifyPage(c *gin.Context) {
	p.render(c, http.StatusOK, "verify", "Confirm your email", view{Data: c.Query("token")})
}

func (p *portal) verify(c *gin.Context) {
	if _, err := p.DB.VerifyOfficer(c.Request.Context(), c.PostForm("token")); err != nil {
		p.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/agency/login?done=verified")
}

func (p *portal) loginPage(c *gin.Context) {
	p.render(c, http.StatusOK, "login", "Sign in", view{})
}

// login checks password and (once enrolled) code. Every failure gets the
// same page and status, so the answer tells nothing about the account.
func (p *portal) login(c *gin.Context) {
	email := c.PostForm("email")
	// Throttled before the password is checked: a refused try does not
	// count against the account, so an attacker cannot lock it from here
	// faster than the throttle lets them.
	if p.SignInLimit != nil {
		if ok, retry, err := p.SignInLimit(c); !ok {
			c.Header("Retry-After", retry)
			status, msg := http.StatusTooManyRequests, "Too many sign-ins from your address. Wait a little, then try again."
			if err != nil {
				status, msg = http.StatusServiceUnavailable, "Sign-in is unavailable for a moment. Try again shortly."
			}
			p.render(c, status, "login", "Sign in", view{Error: msg, Data: email})
			return
		}
	}
	o, mfa, err := p.DB.AuthenticateOfficer(c.Request.Context(), email, c.PostForm("password"), c.PostForm("code"), CheckCode)
	if err != nil {
		if cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			p.internal(c, err)
			return
		}
		p.render(c, http.StatusUnauthorized, "login", "Sign in", view{Error: "Wrong email, password or code.", Data: email})
		return
	}
	if old, _ := c.Cookie(SessionCookie); old != "" {
		p.DB.EndOfficerSession(c.Request.Context(), old)
	}
	token, err := p.DB.CreateOfficerSession(c.Request.Context(), o.ID, mfa)
	if err != nil {
		p.internal(c, err)
		return
	}
	p.setCookie(c, token, 0)
	if !mfa {
		c.Redirect(http.StatusSeeOther, secondStep(o))
		return
	}
	c.Redirect(http.StatusSeeOther, "/agency/cases")
}

func (p *portal) logout(c *gin.Context) {
	if old, _ := c.Cookie(SessionCookie); old != "" {
		if err := p.DB.EndOfficerSession(c.Request.Context(), old); err != nil {
			p.internal(c, err)
			return
		}
	}
	p.setCookie(c, "", -1)
	c.Redirect(http.StatusSeeOther, "/agency/login?done=logout")
}

type totpData struct {
	Secret, URL string
}

// totpPage offers a new secret to an officer not enrolled yet. Each visit
// makes a new one, so a secret shown on a page left open is not the one
// enrolled.
func (p *portal) totpPage(c *gin.Context) {
	o := officer(c)
	if o.Enrolled() {
		c.Redirect(http.StatusSeeOther, "/agency/cases")
		return
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "envelope", AccountName: o.Email})
	if err != nil {
		p.internal(c, err)
		return
	}
	if err := p.DB.SetOfficerSecret(c.Request.Context(), o.ID, key.Secret()); err != nil {
		p.internal(c, err)
		return
	}
	p.render(c, http.StatusOK, "totp", "Set up your authenticator app", view{Data: totpData{Secret: key.Secret(), URL: key.URL()}})
}

func (p *portal) totpConfirm(c *gin.Context) {
	o := officer(c)
	cookie, _ := c.Cookie(SessionCookie)
	if err := p.DB.ConfirmOfficerTOTP(c.Request.Context(), o.ID, cookie, c.PostForm("code"), CheckCode); err != nil {
		if cases.ErrorCode(err) == cases.EINVALID {
			secret, _ := p.DB.OfficerSecret(c.Request.Context(), o.ID)
			p.render(c, http.StatusBadRequest, "totp", "Set up your authenticator app",
				view{Error: cases.ErrorMessage(err), Fields: cases.ErrorFields(err), Data: totpData{Secret: secret}})
			return
		}
		p.failErr(c, err)
		return
	}
	// The first factor comes with the recovery codes, shown on this answer
	// only.
	p.showRecoveryCodes(c, "Your authenticator app is set up.")
}
