package agency

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"envelope/cases/store"
	"envelope/web/passkey"
)

// Passkeys and recovery codes for officers (issue 14). TOTP enrolment
// stays mandatory (account.go); a passkey is a second way to pass the
// second step, registered from a full session, and recovery codes stand in
// for a lost phone or passkey once each.

// secondStep is where a session that passed the password alone goes: the
// passkey step for an enrolled officer (who may also sign in again with a
// code), enrolment otherwise.
func secondStep(o *store.Officer) string {
	if o.Enrolled() {
		return "/agency/passkey"
	}
	return "/agency/totp"
}

func (p *portal) securityRoutes(g, full *gin.RouterGroup) {
	pending := g.Group("", p.session(false), p.enrolledOnly)
	pending.GET("/passkey", p.passkeyPage)
	pending.POST("/passkey/begin", p.passkeyLoginBegin)
	pending.POST("/passkey/finish", p.passkeyLoginFinish)

	full.GET("/security", p.securityPage)
	full.POST("/security/passkeys/begin", p.passkeyRegisterBegin)
	full.POST("/security/passkeys/finish", p.passkeyRegisterFinish)
	full.POST("/security/recovery-codes", func(c *gin.Context) { p.showRecoveryCodes(c, "") })
}

// enrolledOnly keeps the passkey step to officers who enrolled: the others
// go to enrolment.
func (p *portal) enrolledOnly(c *gin.Context) {
	if !officer(c).Enrolled() {
		c.Redirect(http.StatusSeeOther, "/agency/totp")
		c.Abort()
	}
}

func (p *portal) account(c *gin.Context) (*passkey.Account, passkey.Ceremony, bool) {
	o := officer(c)
	cookie, _ := c.Cookie(SessionCookie)
	cer := passkey.Ceremony{DB: p.DB, Kind: store.OfficerSessions, Session: cookie, Secure: p.secure(c)}
	a, err := passkey.Load(c.Request.Context(), p.DB, store.OfficerOwner(o.ID), o.Email, "agency:"+o.Email)
	if err != nil {
		p.jsonFail(c, err)
		return nil, cer, false
	}
	return a, cer, true
}

func (p *portal) jsonFail(c *gin.Context, err error) { passkey.Fail(c, p.Logger, statusOf, err) }

func (p *portal) passkeyPage(c *gin.Context) {
	p.render(c, http.StatusOK, "passkey", "Sign in with your passkey", view{})
}

func (p *portal) passkeyLoginBegin(c *gin.Context) {
	a, cer, ok := p.account(c)
	if !ok {
		return
	}
	opts, err := cer.BeginLogin(c.Request.Context(), c.Request, a)
	if err != nil {
		p.jsonFail(c, err)
		return
	}
	c.JSON(http.StatusOK, opts)
}

func (p *portal) passkeyLoginFinish(c *gin.Context) {
	a, cer, ok := p.account(c)
	if !ok {
		return
	}
	if err := cer.FinishLogin(c.Request.Context(), c.Request, a); err != nil {
		p.jsonFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"next": "/agency/cases"})
}

func (p *portal) passkeyRegisterBegin(c *gin.Context) {
	a, cer, ok := p.account(c)
	if !ok {
		return
	}
	opts, err := cer.BeginRegistration(c.Request.Context(), c.Request, a)
	if err != nil {
		p.jsonFail(c, err)
		return
	}
	c.JSON(http.StatusOK, opts)
}

func (p *portal) passkeyRegisterFinish(c *gin.Context) {
	a, cer, ok := p.account(c)
	if !ok {
		return
	}
	if err := cer.FinishRegistration(c.Request.Context(), c.Request, a, c.Query("name")); err != nil {
		p.jsonFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"next": "/agency/security?done=passkey"})
}

type securityData struct {
	Passkeys  []*store.Passkey
	CodesLeft int
}

func (p *portal) securityPage(c *gin.Context) {
	o := officer(c)
	owner := store.OfficerOwner(o.ID)
	var d securityData
	var err error
	if d.Passkeys, err = p.DB.Passkeys(c.Request.Context(), owner); err != nil {
		p.internal(c, err)
		return
	}
	if d.CodesLeft, err = p.DB.RecoveryCodesLeft(c.Request.Context(), owner); err != nil {
		p.internal(c, err)
		return
	}
	p.render(c, http.StatusOK, "security", "Sign-in security", view{Data: d})
}

// showRecoveryCodes replaces the officer's recovery codes and shows the new
// ones, once.
func (p *portal) showRecoveryCodes(c *gin.Context, flash string) {
	o := officer(c)
	codes, err := p.DB.NewRecoveryCodes(c.Request.Context(), "agency:"+o.Email, store.OfficerOwner(o.ID))
	if err != nil {
		p.internal(c, err)
		return
	}
	p.render(c, http.StatusOK, "recovery", "Your recovery codes", view{Flash: flash, Data: codes})
}
