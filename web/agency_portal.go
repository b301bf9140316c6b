package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/exporter"
	"envelope/policy"
	"envelope/web/agency"
)

// agencyMailer sends the agency portal's mail through the server's mail
// queue, read at each message (serve sets Server.Mail after New);
// Server.AgencyMail, when set, is used instead (tests read the mail
// there). With neither, the portal logs the message, link included.
type agencyMailer struct{ s *Server }

func (m agencyMailer) Send(ctx context.Context, to, subject, body string) error {
	switch {
	case m.s.AgencyMail != nil:
		return m.s.AgencyMail.Send(ctx, to, subject, body)
	case m.s.Mail != nil:
		return m.s.Mail.Send(ctx, to, subject, body)
	}
	return agency.ErrNoMailer
}

// agencyPortalRoutes registers the agency portal (web/agency) under
// /agency/, and the staff's API on officers. The portal gets what it needs
// from the server as values, so it never imports this package.
func (s *Server) agencyPortalRoutes(api *gin.RouterGroup) {
	// Download links are signed with the deployment's secret, so a link
	// made on one instance opens on another and after a restart.
	key, err := s.DB.Secret(context.Background(), "agency_download_links")
	if err != nil {
		s.Logger.Error("agency portal: no shared download-link key; links open only on this instance until it restarts", "id", "", "err", err)
	}
	agency.Register(s.engine, agency.Deps{
		DownloadKey: key,
		DB:          s.DB,
		Policy:      func() *policy.Policy { return s.Policy() },
		Logger:      s.Logger,
		Mailer:      agencyMailer{s},
		Now:         func() time.Time { return s.Now() },
		Due:         s.computeDue,
		Zone:        s.zone,
		Packages:    func() (*exporter.Exporter, error) { return s.exporter() },
		Thread:      s.threadMail,
		Reverify:    func() time.Duration { return s.Agency.Reverify },
		SignInLimit: s.signInAllowed,
		Secure:      s.secure,
	})
	s.threadAPIRoutes(api)
	api.GET("/officers", s.bearer(auditors), s.listOfficers)
	api.POST("/officers/:id/suspend", s.bearer(admins), s.suspendOfficer(true))
	api.POST("/officers/:id/reinstate", s.bearer(admins), s.suspendOfficer(false))
	api.POST("/agencies/:id/suspend", s.bearer(admins), s.suspendAgency(true))
	api.POST("/agencies/:id/reinstate", s.bearer(admins), s.suspendAgency(false))
}

func (s *Server) listOfficers(c *gin.Context) {
	agencyID, _ := strconv.ParseInt(c.Query("agency"), 10, 64)
	list, err := s.DB.Officers(c.Request.Context(), agencyID)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"officers": list})
}

// suspendOfficer suspends or reinstates an officer: {"reason": "..."}.
func (s *Server) suspendOfficer(suspend bool) gin.HandlerFunc {
	return s.suspension("officer", func(c *gin.Context, id int64, reason string) (any, error) {
		return s.DB.SuspendOfficer(c.Request.Context(), currentUser(c), id, suspend, reason)
	})
}

// suspendAgency suspends or reinstates a whole agency on the portal:
// {"reason": "..."}. It answers the suspension, or {"suspended": false}.
func (s *Server) suspendAgency(suspend bool) gin.HandlerFunc {
	return s.suspension("agency", func(c *gin.Context, id int64, reason string) (any, error) {
		sus, err := s.DB.SuspendAgency(c.Request.Context(), currentUser(c), id, suspend, reason)
		if err != nil {
			return nil, err
		}
		if sus == nil {
			return gin.H{"agency_id": id, "suspended": false}, nil
		}
		return gin.H{"agency_id": id, "suspended": true, "suspension": sus}, nil
	})
}

// suspension reads {"reason"} and the :id of a noun, runs change and
// answers what it returns.
func (s *Server) suspension(noun string, change func(c *gin.Context, id int64, reason string) (any, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body struct {
			Reason string `json:"reason"`
		}
		if err := bindJSON(c, &body); err != nil {
			s.apiError(c, err)
			return
		}
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			s.apiError(c, cases.Invalid(map[string]string{"id": "is not an " + noun + " id"}))
			return
		}
		out, err := change(c, id, body.Reason)
		if err != nil {
			s.apiError(c, err)
			return
		}
		c.JSON(http.StatusOK, out)
	}
}

// agencySuspendSubmit is the agency edit page's suspension form.
func (s *Server) agencySuspendSubmit(suspend bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		e, ok := s.agencyByParam(c)
		if !ok {
			return
		}
		if _, err := s.DB.SuspendAgency(c.Request.Context(), currentUser(c), e.ID, suspend, c.PostForm("reason")); err != nil {
			if code := cases.ErrorCode(err); code == cases.EINVALID || code == cases.ECONFLICT {
				s.renderAgencyEdit(c, statusOf(code), e, err)
			} else {
				s.portalFail(c, err)
			}
			return
		}
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/agencies/%d?done=agency-%s#suspension", e.ID, map[bool]string{true: "suspended", false: "reinstated"}[suspend]))
	}
}
