package agency

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases/store"
)

// Re-verification (issue 14): an officer whose email was last confirmed
// longer ago than Deps.Reverify must confirm it again, over a new emailed
// link, before doing anything else; an address the officer no longer
// holds (they left the agency) then locks them out.

// confirmed admits an officer whose email confirmation is current. Any
// other gets the page that sends a new link, or 403 for anything but a
// page.
func (p *portal) confirmed(c *gin.Context) {
	every := p.reverifyEvery()
	if !store.NeedsReverify(officer(c), every, p.DB.Now()) {
		c.Next()
		return
	}
	if c.Request.Method == http.MethodGet {
		p.render(c, http.StatusForbidden, "reverify", "Confirm your email again", view{Data: int(every.Hours() / 24)})
		return
	}
	p.fail(c, http.StatusForbidden, "Confirm your email address again first: open any page of the portal to get a new link.")
}

func (p *portal) reverifyEvery() (d time.Duration) {
	if p.Reverify != nil {
		d = p.Reverify()
	}
	return d
}

// reverifySend mails the signed-in officer a new confirmation link.
func (p *portal) reverifySend(c *gin.Context) {
	o := officer(c)
	token, err := p.DB.ReverifyToken(c.Request.Context(), o.ID)
	if err != nil {
		p.internal(c, err)
		return
	}
	link := p.base(c) + "/agency/reverify?token=" + url.QueryEscape(token)
	p.send(c, o.Email, "Confirm your email again for the envelope agency portal",
		"Open this link to confirm that this address is still yours (it works for 24 hours):\n\n"+link+
			"\n\nUntil you do, the portal lets you do nothing else. If you did not ask for this, ignore this message.")
	c.Redirect(http.StatusSeeOther, "/agency/cases?done=reverify")
}

// reverifyPage asks for a click, as the first verification does.
func (p *portal) reverifyPage(c *gin.Context) {
	p.render(c, http.StatusOK, "reconfirm", "Confirm your email again", view{Data: c.Query("token")})
}

func (p *portal) reverify(c *gin.Context) {
	if _, err := p.DB.ReverifyOfficer(c.Request.Context(), c.PostForm("token")); err != nil {
		p.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/agency/cases?done=reverified")
}
