package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
	"github.com/pquerna/otp/totp"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/web/agency"
	"envelope/web/passkey"
)

// The staff portal's second factor (issue 14): after the password, a user
// who has a second factor, or whose role requires one, holds a pending
// session (store.StaffSession.Pending). signedIn lets such a session reach
// nothing; the routes here are the only ones it reaches: the second step
// (a TOTP code, a recovery code or a passkey) and enrolment.

const sessionKey = "envelope_staff_session"

// secondFactorRoutes registers the second step and the account's security
// page. Both run on sessions that may be pending, so they use their own
// gates (pendingSession, enrolSession) instead of signedIn.
func (s *Server) secondFactorRoutes(p *gin.RouterGroup) {
	p.GET("/login/second-factor", s.pendingSession(), s.secondFactorPage)
	p.POST("/login/second-factor", s.pendingSession(), s.secondFactorSubmit)
	p.POST("/login/passkey/begin", s.pendingSession(), s.passkeyLoginBegin)
	p.POST("/login/passkey/finish", s.pendingSession(), s.passkeyLoginFinish)

	p.GET("/account/security", s.enrolSession(), s.securityPage)
	p.POST("/account/security/totp", s.enrolSession(), s.totpEnrol)
	p.POST("/account/security/passkeys/begin", s.enrolSession(), s.passkeyRegisterBegin)
	p.POST("/account/security/passkeys/finish", s.enrolSession(), s.passkeyRegisterFinish)
	p.POST("/account/security/recovery-codes", s.signedIn(anyPortalUser), s.recoveryCodesCreate)

	p.GET("/admin/sign-in", s.signedIn(admins), s.signInSettingsPage)
	p.POST("/admin/sign-in", s.signedIn(admins), s.signInSettingsSave)
}

// staffSession reads the session cookie; signed out, a page goes to the
// sign-in page and anything else is answered 401.
func (s *Server) staffSession(c *gin.Context) (*store.StaffSession, bool) {
	cookie, _ := c.Cookie(SessionCookie)
	st, err := s.DB.StaffSession(c.Request.Context(), cookie)
	if err != nil {
		if cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			s.portalFail(c, err)
			return nil, false
		}
		if cookie != "" {
			s.clearSessionCookie(c)
		}
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.Path))
		c.Abort()
		return nil, false
	}
	if !st.User.CanRead() {
		s.portalError(c, http.StatusForbidden, "Your role ("+string(st.User.Role)+") may not use the portal.")
		return nil, false
	}
	c.Set(sessionKey, st)
	return st, true
}

func sessionOf(c *gin.Context) *store.StaffSession {
	v, _ := c.Get(sessionKey)
	st, _ := v.(*store.StaffSession)
	return st
}

// pendingSession admits a session whose second step is due and the user
// has a factor to pass it with; any other goes where it belongs.
func (s *Server) pendingSession() gin.HandlerFunc {
	return func(c *gin.Context) {
		st, ok := s.staffSession(c)
		if !ok {
			return
		}
		switch {
		case !st.Pending():
			c.Redirect(http.StatusSeeOther, "/dashboard")
			c.Abort()
		case !st.Enrolled:
			c.Redirect(http.StatusSeeOther, "/account/security")
			c.Abort()
		}
	}
}

// enrolSession admits a session that may add a factor: one that passed the
// second step, or a user with no factor yet (whose role may require one:
// enrolment is then all they can do). A password alone never reaches the
// security page of an account that has a factor.
func (s *Server) enrolSession() gin.HandlerFunc {
	return func(c *gin.Context) {
		st, ok := s.staffSession(c)
		if !ok {
			return
		}
		if !st.MayEnrol() {
			if c.Request.Method == http.MethodGet {
				c.Redirect(http.StatusSeeOther, "/login/second-factor")
				c.Abort()
				return
			}
			s.portalError(c, http.StatusForbidden, "Pass your second factor first.")
			return
		}
		if !st.Pending() {
			c.Set(userKey, st.User) // the full header only for a full session
		}
	}
}

// secondFactorGate is signedIn's check: a pending session is sent to its
// second step or to enrolment (a page), or refused (anything else).
func (s *Server) secondFactorGate(c *gin.Context, st *store.StaffSession) bool {
	if !st.Pending() {
		return true
	}
	if c.Request.Method == http.MethodGet {
		to := "/login/second-factor"
		if !st.Enrolled {
			to = "/account/security"
		}
		c.Redirect(http.StatusSeeOther, to)
		c.Abort()
		return false
	}
	s.portalError(c, http.StatusForbidden, "Sign-in is not complete: pass your second factor first.")
	return false
}

type secondFactorData struct {
	Passkey bool
	Message string
	Next    string // where to go after the step (safeNext)
}

func (d secondFactorData) ErrorText() string { return d.Message }

func (s *Server) secondFactorPage(c *gin.Context) {
	s.renderSecondFactor(c, http.StatusOK, "")
}

func (s *Server) renderSecondFactor(c *gin.Context, status int, msg string) {
	st := sessionOf(c)
	a, err := passkey.Load(c.Request.Context(), s.DB, store.UserOwner(st.User.ID), st.User.Email, st.User.Email)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	next := c.Query("next")
	if c.Request.Method == http.MethodPost {
		next = c.PostForm("next")
	}
	s.render(c, status, "secondfactor", "Second step of sign-in", secondFactorData{Passkey: a.Has(), Message: msg, Next: safeNext(next)})
}

// badCode is the second step's one answer to a wrong, replayed or spent
// code, and to a locked account.
const badCode = "Wrong code. After too many wrong tries the account is locked for a while."

func (s *Server) secondFactorSubmit(c *gin.Context) {
	cookie, _ := c.Cookie(SessionCookie)
	u, err := s.DB.PassSecondFactor(c.Request.Context(), cookie, c.PostForm("code"), agency.CheckCode)
	var locked *store.LockedError
	switch {
	case err == nil:
	case errors.As(err, &locked), errors.Is(err, store.ErrBadCode):
		s.renderSecondFactor(c, http.StatusUnauthorized, badCode)
		return
	default:
		s.portalFail(c, err)
		return
	}
	if u.MustChangePassword {
		c.Redirect(http.StatusSeeOther, "/password")
		return
	}
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

// ceremony is the staff portal's side of a passkey ceremony.
func (s *Server) ceremony(c *gin.Context) passkey.Ceremony {
	cookie, _ := c.Cookie(SessionCookie)
	return passkey.Ceremony{DB: s.DB, Kind: store.StaffSessions, Session: cookie, Secure: s.secure(c.Request)}
}

func (s *Server) staffAccount(c *gin.Context) (*passkey.Account, bool) {
	u := sessionOf(c).User
	a, err := passkey.Load(c.Request.Context(), s.DB, store.UserOwner(u.ID), u.Email, u.Email)
	if err != nil {
		s.jsonFail(c, err)
		return nil, false
	}
	return a, true
}

// jsonFail answers a passkey call: the script shows the message.
func (s *Server) jsonFail(c *gin.Context, err error) { passkey.Fail(c, s.Logger, statusOf, err) }

func (s *Server) passkeyLoginBegin(c *gin.Context) {
	a, ok := s.staffAccount(c)
	if !ok {
		return
	}
	opts, err := s.ceremony(c).BeginLogin(c.Request.Context(), c.Request, a)
	if err != nil {
		s.jsonFail(c, err)
		return
	}
	c.JSON(http.StatusOK, opts)
}

func (s *Server) passkeyLoginFinish(c *gin.Context) {
	a, ok := s.staffAccount(c)
	if !ok {
		return
	}
	if err := s.ceremony(c).FinishLogin(c.Request.Context(), c.Request, a); err != nil {
		s.jsonFail(c, err)
		return
	}
	next := safeNext(c.Query("next"))
	if sessionOf(c).User.MustChangePassword {
		next = "/password"
	}
	c.JSON(http.StatusOK, gin.H{"next": next})
}

func (s *Server) passkeyRegisterBegin(c *gin.Context) {
	a, ok := s.staffAccount(c)
	if !ok {
		return
	}
	opts, err := s.ceremony(c).BeginRegistration(c.Request.Context(), c.Request, a)
	if err != nil {
		s.jsonFail(c, err)
		return
	}
	c.JSON(http.StatusOK, opts)
}

func (s *Server) passkeyRegisterFinish(c *gin.Context) {
	a, ok := s.staffAccount(c)
	if !ok {
		return
	}
	if err := s.ceremony(c).FinishRegistration(c.Request.Context(), c.Request, a, c.Query("name")); err != nil {
		s.jsonFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"next": "/account/security?done=passkey"})
}

type securityData struct {
	Pending      bool // enrolment is all this session may do
	TOTP         bool
	Secret, URL  string
	QR           template.URL // the otpauth URL as a PNG data URL (made here, so safe)
	Passkeys     []*store.Passkey
	CodesLeft    int
	Codes        []string // new recovery codes, shown once
	Fields       map[string]string
	Message      string
	RequiredNote bool
}

func (d securityData) ErrorText() string { return d.Message }

// securityPage shows the account's second factors and offers enrolment: a
// new TOTP secret at each visit while none is set up (so a secret left on
// a screen is not the one enrolled), and passkey registration.
func (s *Server) securityPage(c *gin.Context) {
	s.renderSecurity(c, http.StatusOK, securityData{})
}

func (s *Server) renderSecurity(c *gin.Context, status int, d securityData) {
	ctx := c.Request.Context()
	st := sessionOf(c)
	u := st.User
	owner := store.UserOwner(u.ID)
	var err error
	if d.Passkeys, err = s.DB.Passkeys(ctx, owner); err != nil {
		s.portalFail(c, err)
		return
	}
	if d.CodesLeft, err = s.DB.RecoveryCodesLeft(ctx, owner); err != nil {
		s.portalFail(c, err)
		return
	}
	fresh, err := s.DB.StaffSession(ctx, s.cookie(c))
	if err != nil {
		s.portalFail(c, err)
		return
	}
	d.Pending = fresh.Pending()
	d.RequiredNote = fresh.Required && !fresh.Enrolled
	d.TOTP = fresh.TOTP
	if !d.TOTP && d.Codes == nil {
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "envelope", AccountName: u.Email})
		if err != nil {
			s.portalFail(c, err)
			return
		}
		if err := s.DB.OfferUserTOTP(ctx, u.ID, key.Secret()); err != nil {
			s.portalFail(c, err)
			return
		}
		d.Secret, d.URL = key.Secret(), key.URL()
		if img, err := key.Image(200, 200); err == nil {
			var b bytes.Buffer
			if png.Encode(&b, img) == nil {
				d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()))
			}
		}
	}
	s.render(c, status, "security", "Sign-in security", d)
}

func (s *Server) cookie(c *gin.Context) string {
	v, _ := c.Cookie(SessionCookie)
	return v
}

// totpEnrol confirms the offered secret with a code. The first factor an
// account gets comes with its recovery codes, shown on this answer only.
func (s *Server) totpEnrol(c *gin.Context) {
	st := sessionOf(c)
	first := !st.Enrolled
	if err := s.DB.EnrolUserTOTP(c.Request.Context(), s.cookie(c), c.PostForm("code"), agency.CheckCode); err != nil {
		if cases.ErrorCode(err) != cases.EINVALID {
			s.portalFail(c, err)
			return
		}
		s.renderSecurity(c, http.StatusBadRequest, securityData{Fields: cases.ErrorFields(err), Message: "The authenticator app was not set up: " + cases.ErrorFields(err)["code"] + "."})
		return
	}
	if !first {
		c.Redirect(http.StatusSeeOther, "/account/security?done=totp")
		return
	}
	s.showRecoveryCodes(c)
}

// recoveryCodesCreate replaces the user's recovery codes (a signed-in
// session: one that passed its second factor if one is due).
func (s *Server) recoveryCodesCreate(c *gin.Context) {
	st, ok := s.staffSession(c)
	if !ok {
		return
	}
	if !st.Enrolled {
		s.portalError(c, http.StatusConflict, "Set up an authenticator app or a passkey first: recovery codes stand in for one.")
		return
	}
	s.showRecoveryCodes(c)
}

func (s *Server) showRecoveryCodes(c *gin.Context) {
	u := sessionOf(c).User
	codes, err := s.DB.NewRecoveryCodes(c.Request.Context(), u.Email, store.UserOwner(u.ID))
	if err != nil {
		s.portalFail(c, err)
		return
	}
	c.Set(userKey, u)
	s.renderSecurity(c, http.StatusOK, securityData{Codes: codes})
}

type signInSettingsData struct {
	Roles    []cases.Role
	Required map[cases.Role]bool
	Message  string
}

func (d signInSettingsData) ErrorText() string { return d.Message }

func (s *Server) signInSettingsPage(c *gin.Context) {
	req, err := s.DB.SecondFactorRoles(c.Request.Context())
	if err != nil {
		s.portalFail(c, err)
		return
	}
	s.render(c, http.StatusOK, "signin_settings", "Sign-in settings", signInSettingsData{Roles: cases.Roles, Required: req})
}

func (s *Server) signInSettingsSave(c *gin.Context) {
	var roles []cases.Role
	for _, r := range c.PostFormArray("required") {
		roles = append(roles, cases.Role(r))
	}
	if err := s.DB.SetSecondFactorRoles(c.Request.Context(), currentUser(c).Email, roles); err != nil {
		if cases.ErrorCode(err) != cases.EINVALID {
			s.portalFail(c, err)
			return
		}
		s.render(c, http.StatusBadRequest, "signin_settings", "Sign-in settings", signInSettingsData{Roles: cases.Roles, Required: map[cases.Role]bool{},
			Message: "Not saved: " + cases.ErrorFields(err)["roles"] + "."})
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/sign-in?done=settings")
}
