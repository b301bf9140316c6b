package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
)

// The organisation's time zone (issue 15). A date typed without a time is
// read in it (cases.ParseRequestIn), and the portal shows times in it and
// names it. It is a setting in the database, so that every instance on one
// database agrees; each instance reads it again at most every zoneTTL, so a
// change made on one instance reaches the others within that.
const zoneTTL = 5 * time.Second

type zoneCache struct {
	mu     sync.Mutex
	loc    *time.Location
	readAt time.Time
}

// zone returns the organisation's time zone. A database that cannot be read
// leaves the last zone known in place (UTC before any).
func (s *Server) zone(c *gin.Context) *time.Location {
	return s.orgZone(c.Request.Context(), c.GetString("request_id"))
}

// orgZone is zone for work outside a request's handler (the due_at
// recomputed in a store transaction); id names the request in the log.
func (s *Server) orgZone(ctx context.Context, id string) *time.Location {
	zc := &s.zones
	zc.mu.Lock()
	defer zc.mu.Unlock()
	now := time.Now()
	if zc.loc == nil || now.Sub(zc.readAt) >= zoneTTL {
		loc, err := s.DB.OrgZone(ctx)
		if err != nil {
			s.Logger.Error("read the organisation's time zone", "id", id, "err", err)
			if zc.loc == nil {
				zc.loc = time.UTC
			}
		} else {
			zc.loc, zc.readAt = loc, now
		}
	}
	return zc.loc
}

// setZone changes the organisation's zone and forgets the cached one.
func (s *Server) setZone(c *gin.Context, actor, name string) error {
	if err := s.DB.SetOrgZone(c.Request.Context(), actor, name); err != nil {
		return err
	}
	s.zones.mu.Lock()
	s.zones.loc = nil
	s.zones.mu.Unlock()
	s.zone(c)
	return nil
}

func (s *Server) settingsRoutes(api *gin.RouterGroup) {
	api.GET("/settings", s.bearer(anyReader), func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"time_zone": s.zone(c).String()})
	})
	api.PUT("/settings/time_zone", s.bearer(admins), func(c *gin.Context) {
		var body struct {
			TimeZone string `json:"time_zone"`
		}
		raw, err := readBody(c, 1<<10)
		if err == nil {
			err = cases.DecodeStrict(raw, &body)
		}
		if err == nil {
			err = s.setZone(c, currentUser(c).Email, body.TimeZone)
		}
		if err != nil {
			s.apiError(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"time_zone": s.zone(c).String()})
	})
}

// Showing times. A deadline is shown to the minute, with its zone, when the
// hour matters: under 48 hours away (or overdue by less), or on an urgent
// case; otherwise by its date. Windows are always shown to the minute.
const hourMatters = 48 * time.Hour

func fmtDate(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02") }

func fmtDateTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// fmtDue shows a deadline as of now.
func fmtDue(due, now time.Time, urgent bool, loc *time.Location) string {
	if d := due.Sub(now); urgent || (d < hourMatters && d > -hourMatters) {
		return fmtDateTime(due, loc)
	}
	return fmtDate(due, loc)
}

// fmtWindow shows a window [from, to) in the zone shown. An end at
// midnight is written as 24:00 of the day before, which is how "to
// 2026-10-31" reads when the whole of that day is inside.
func fmtWindow(w cases.Window, loc *time.Location) string {
	from, to := w.From.In(loc), w.To.In(loc)
	end := to.Format("2006-01-02 15:04")
	if to.Hour() == 0 && to.Minute() == 0 && to.Second() == 0 && to.Nanosecond() == 0 {
		end = to.Add(-time.Nanosecond).Format("2006-01-02") + " 24:00"
	}
	return from.Format("2006-01-02 15:04") + " – " + end + " " + to.Format("MST")
}

// urgent says whether a case's deadline is counted in hours: an emergency,
// or any request that states an emergency (an EU emergency production order).
func urgent(p cases.ProcessType, e *cases.Exigency) bool {
	return p == cases.Emergency || (e != nil && e.ImminentHarm)
}

// zoneName is the zone the portal names beside its times.
func zoneName(loc *time.Location) string { return strings.ReplaceAll(loc.String(), "_", " ") }

type settingsData struct {
	Zone    string
	Fields  map[string]string
	Message string
}

func (d settingsData) ErrorText() string { return d.Message }

// settingsPortalRoutes are the admin's settings page.
func (s *Server) settingsPortalRoutes(p *gin.RouterGroup) {
	p.GET("/admin/settings", s.signedIn(admins), func(c *gin.Context) {
		s.render(c, http.StatusOK, "settings", "Settings", settingsData{Zone: s.zone(c).String()})
	})
	p.POST("/admin/settings", s.signedIn(admins), func(c *gin.Context) {
		name := c.PostForm("time_zone")
		if err := s.setZone(c, currentUser(c).Email, name); err != nil {
			code := cases.ErrorCode(err)
			if code != cases.EINVALID {
				s.portalFail(c, err)
				return
			}
			s.render(c, statusOf(code), "settings", "Settings", settingsData{Zone: name, Fields: cases.ErrorFields(err), Message: "The time zone was not changed."})
			return
		}
		c.Redirect(http.StatusSeeOther, "/admin/settings?done=settings")
	})
}
