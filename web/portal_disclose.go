package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/exporter"
	"envelope/exporter/letters"
)

// The case page's disclosure side: producing and downloading packages,
// the prospective collection windows, and the preservation hold with its
// one extension. The same operations as the API's, for a signed-in user.

// disclosureRoutes registers the case page's disclosure forms.
func (s *Server) disclosureRoutes(p *gin.RouterGroup) {
	p.POST("/cases/:id/export", s.signedIn(caseLogger), s.exportSubmit)
	p.GET("/cases/:id/exports/:package", s.signedIn(anyReader), s.exportDownload)
	p.POST("/cases/:id/preservation/extend", s.signedIn(caseLogger), s.extendSubmit)
	p.POST("/cases/:id/hold", s.signedIn(retention.CanHold), s.holdSubmit(retention.PlaceHold, "hold-placed"))
	p.POST("/cases/:id/hold/release", s.signedIn(retention.CanHold), s.holdSubmit(retention.ReleaseHold, "hold-released"))
}

// disclosure is what the case page shows of a case's packages, collection
// and preservation.
type disclosure struct {
	Packages []*exporter.Package
	// ExportBlocked says why the case cannot be produced now ("" if it can).
	ExportBlocked string
	Windows       []metadata.Window
	Preservation  *metadata.Preservation
	// Hold is the legal hold standing on the case, if any: nothing of the
	// case is purged while it stands (docs/retention.md).
	Hold *retention.Hold
	// Letters are the case's letters (exporter/letters), LetterKinds
	// those that can be produced.
	Letters     []*exporter.Letter
	LetterKinds []letters.Kind
	// Deliveries are the agency portal's downloads and receipts, by
	// package ID (web/agency).
	Deliveries map[int64]*store.Delivery
}

// loadDisclosure reads the case's packages, windows and hold.
func (s *Server) loadDisclosure(c *gin.Context, kase *cases.Case) (*disclosure, error) {
	ctx := c.Request.Context()
	d := &disclosure{}
	var err error
	if d.Packages, err = exporter.ListPackages(ctx, s.DB, kase.ID); err != nil {
		return nil, err
	}
	if d.Deliveries, err = s.DB.Deliveries(ctx, kase.ID); err != nil {
		return nil, err
	}
	var last *exporter.Package
	if n := len(d.Packages); n > 0 {
		last = d.Packages[n-1]
	}
	if err := exporter.Exportable(cases.ShapedCase(kase), last); err != nil {
		d.ExportBlocked = cases.ErrorMessage(err)
	} else if err := exporter.NoticeHold(ctx, s.DB, kase); cases.ErrorCode(err) == cases.ECONFLICT {
		d.ExportBlocked = cases.ErrorMessage(err)
	} else if err != nil {
		return nil, err
	}
	if d.Letters, err = exporter.ListLetters(ctx, s.DB, kase.ID); err != nil {
		return nil, err
	}
	d.LetterKinds = letters.Kinds
	if d.Hold, err = retention.ActiveHold(ctx, s.DB, kase.ID); err != nil {
		return nil, err
	}
	md := metadata.New(s.DB)
	if d.Windows, err = md.Windows(ctx, kase.ID); err != nil {
		return nil, err
	}
	if kase.Process.Type == cases.Preservation {
		d.Preservation, err = md.Preservation(ctx, kase.ID)
		if cases.ErrorCode(err) == cases.ENOTFOUND {
			err = nil // not approved (yet): nothing frozen
		}
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// exportSubmit produces the case's next package and shows it on the case
// page, or says on the page why it cannot be produced.
func (s *Server) exportSubmit(c *gin.Context) {
	exp, err := s.exporter()
	if err != nil {
		s.portalFail(c, err)
		return
	}
	// A production that finds no records is confirmed first: the case is
	// then answered "no data found", not produced.
	export := exp.ExportIfRecords
	if c.PostForm("confirm_no_data") == "1" {
		export = exp.Export
	}
	p, err := export(c.Request.Context(), currentUser(c).Email, c.Param("id"))
	if err != nil {
		if !s.noDataConfirmation(c, err) {
			s.caseFormError(c, err, "")
		}
		return
	}
	s.announceNow(c)
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=exported#packages", p.CaseID))
}

// exportDownload serves a package, as the API's download does.
func (s *Server) exportDownload(c *gin.Context) { s.sendPackage(c, s.portalFail) }

// extendSubmit extends the case's preservation hold by its one 90 days.
func (s *Server) extendSubmit(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.portalFail(c, err)
		return
	}
	if _, err := metadata.New(s.DB).Extend(c.Request.Context(), currentUser(c), kase.ID); err != nil {
		s.caseFormError(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=extended#preservation", kase.ID))
}

// holdSubmit places or releases the case's legal hold with the reason
// given on the form; a refusal (no reason, a hold already standing or none
// to release) is shown on the case page.
func (s *Server) holdSubmit(change func(context.Context, *store.DB, *cases.User, string, string) (*retention.Hold, error), done string) gin.HandlerFunc {
	return func(c *gin.Context) {
		h, err := change(c.Request.Context(), s.DB, currentUser(c), c.Param("id"), c.PostForm("reason"))
		if err != nil {
			s.caseFormError(c, err, "")
			return
		}
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=%s#hold", h.CaseID, done))
	}
}

// deadlinePanels are the dashboard's reminders across cases: collection
// windows ending within a week (renew the order or collection stops) and
// preservation holds ending within two weeks (extend once, or let go).
const (
	windowsWarning = 7 * 24 * time.Hour
	holdsWarning   = 14 * 24 * time.Hour
)

func (s *Server) deadlinePanels(c *gin.Context, now time.Time, d *dashboardData) error {
	md := metadata.New(s.DB)
	var err error
	if d.Closing, d.More["closing"], err = md.ClosingWindows(c.Request.Context(), now, now.Add(windowsWarning), panelRows); err != nil {
		return err
	}
	d.Expiring, d.More["expiring"], err = md.ExpiringHolds(c.Request.Context(), now, now.Add(holdsWarning), panelRows)
	return err
}
