package web

import (
	"context"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"envelope/cases/mail"
	"envelope/cases/store"
)

// Delivery to the agency (issue 14): when a package of a case submitted
// through the agency portal is produced, its officers are emailed (no case
// details, a link to sign in); the dashboard flags packages no officer
// downloaded within Server.Agency.DeliveryOverdue.

// AgencySettings are the agency portal's periods; New sets the defaults
// and serve its flags.
type AgencySettings struct {
	// Reverify is how long an officer's email confirmation lasts (0: for
	// ever).
	Reverify time.Duration
	// DeliveryOverdue is how long a package may wait for its first
	// download before the dashboard flags it.
	DeliveryOverdue time.Duration
}

// DefaultAgencySettings: 90 days between confirmations, 7 days to
// download.
var DefaultAgencySettings = AgencySettings{Reverify: 90 * 24 * time.Hour, DeliveryOverdue: 7 * 24 * time.Hour}

// AnnouncePackages emails the officers of each agency case with a package
// they were not told of yet, and returns how many packages it announced.
// Each package is announced once, in the transaction that queues its
// mail, so several instances (or a crash between) neither skip nor repeat
// one. Without a mailer it announces nothing, leaving them for a server
// that has one.
func (s *Server) AnnouncePackages(ctx context.Context) (int, error) {
	if s.Mail == nil {
		return 0, nil
	}
	n := 0
	for {
		ids, err := s.DB.UnannouncedPackages(ctx, 100)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for _, id := range ids {
			done, err := s.DB.AnnouncePackage(ctx, id, func(tx *sqlx.Tx, caseID int64, to []string) error {
				return s.queueEach(ctx, tx, to, mail.TmplPackageReady, "delivery", caseID, fmt.Sprintf("/agency/cases/%d", caseID))
			})
			if err != nil {
				return n, err
			}
			if done {
				n++
			}
		}
	}
}

// RunAnnouncer announces new packages every so often until ctx ends: the
// packages a CLI export or the scheduled producer made (the portal's and
// the API's productions are announced at once, announceNow).
func (s *Server) RunAnnouncer(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// One instance looks at a time, as the other schedulers do; the
		// announcement itself is once per package anyway.
		_, err := s.DB.Exclusive(ctx, "agency-announce", func(ctx context.Context) error {
			_, err := s.AnnouncePackages(ctx)
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("announce packages to agencies", "id", "", "err", err) // a background pass: no request
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// announceNow announces a production just made; a failure is logged and
// left to RunAnnouncer, the production stands.
func (s *Server) announceNow(c *gin.Context) {
	if _, err := s.AnnouncePackages(c.Request.Context()); err != nil {
		s.Logger.Error("announce packages to agencies", "id", c.GetString("request_id"), "err", err)
	}
}

// undeliveredPanel lists the packages waiting too long for a download.
func (s *Server) undeliveredPanel(ctx context.Context, now time.Time) ([]store.Undelivered, error) {
	return s.DB.UndownloadedPackages(ctx, now.Add(-s.Agency.DeliveryOverdue), panelRows)
}
