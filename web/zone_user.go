package web

import (
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
)

// Per-user time zones (issue 15). A user may set their own zone; the portal
// then shows them times in it, else in the organisation's, and names the
// zone beside every time. Reading typed dates stays in the organisation's
// zone (s.zone): a window "to 2026-10-31" means the same whole day whoever
// typed it.

// viewZone is the zone the portal shows the signed-in user times in.
func (s *Server) viewZone(c *gin.Context) *time.Location {
	if v, ok := c.Get("view_zone"); ok {
		return v.(*time.Location)
	}
	loc := s.zone(c)
	if u := currentUser(c); u != nil && u.TimeZone != "" {
		if z, err := cases.LoadZone(u.TimeZone); err == nil {
			loc = z
		}
	}
	c.Set("view_zone", loc)
	return loc
}

// zoneFuncs are the template helpers that show times, bound to one zone:
// a page is rendered with the set of its reader's zone (pagesIn), so two
// readers in two zones never see each other's.
func zoneFuncs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"date": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return fmtDate(v, loc)
			case *time.Time:
				if v == nil {
					return ""
				}
				return fmtDate(*v, loc)
			}
			return ""
		},
		"datetime": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				return fmtDateTime(v, loc)
			case *time.Time:
				if v != nil {
					return fmtDateTime(*v, loc)
				}
			}
			return ""
		},
		"window":   func(w cases.Window) string { return fmtWindow(w, loc) },
		"zoneName": func() string { return zoneName(loc) },
		"caseDue": func(c *cases.Case, now time.Time) string {
			if c.DueAt == nil {
				return ""
			}
			return fmtDue(*c.DueAt, now, urgent(c.Process.Type, c.Emergency), loc)
		},
		"due": func(due *time.Time, now time.Time, status cases.Status) string {
			return dueClass(due, now, status, loc)
		},
		"optDate": func(t *time.Time) string {
			if t == nil {
				return "none"
			}
			return fmtDate(*t, loc)
		},
	}
}

// zonePages holds the portal's pages parsed for each zone shown so far
// (zone name → page name → template): a handful of zones in practice.
var zonePages sync.Map

// pagesIn returns the portal's pages with their time helpers in loc.
func pagesIn(loc *time.Location) map[string]*template.Template {
	if p, ok := zonePages.Load(loc.String()); ok {
		return p.(map[string]*template.Template)
	}
	p, _ := zonePages.LoadOrStore(loc.String(), parsePages(zoneFuncs(loc)))
	return p.(map[string]*template.Template)
}

// parsePages parses every page with the shared layout and parts.
func parsePages(times template.FuncMap) map[string]*template.Template {
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		pages[base] = template.Must(template.New(base).Funcs(templateFuncs).Funcs(caseworkFuncs).Funcs(times).ParseFS(templateFS, "templates/layout.html", "templates/parts/*.html", n))
	}
	return pages
}

type profileData struct {
	Zone, OrgZone string
	Fields        map[string]string
	Message       string
}

func (d profileData) ErrorText() string { return d.Message }

// userZoneRoutes let each user set their own zone (the portal's "Your
// settings" page, PUT /api/v1/me/time_zone) and an admin set anyone's
// (PUT /api/v1/users/{id}/time_zone). {"time_zone": ""} returns to the
// organisation's zone.
func (s *Server) userZoneRoutes(api *gin.RouterGroup) {
	// The collector is a service with no portal to show times in.
	api.PUT("/me/time_zone", s.bearer(anyReader), func(c *gin.Context) {
		s.apiSetUserZone(c, currentUser(c).ID)
	})
	api.PUT("/users/:id/time_zone", s.bearer(admins), func(c *gin.Context) {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			s.apiError(c, cases.Invalid(map[string]string{"id": "must be a user's number"}))
			return
		}
		s.apiSetUserZone(c, id)
	})
}

func (s *Server) apiSetUserZone(c *gin.Context, id int64) {
	var body struct {
		TimeZone *string `json:"time_zone"`
	}
	raw, err := readBody(c, 1<<10)
	if err == nil {
		err = cases.DecodeStrict(raw, &body)
	}
	if err == nil && body.TimeZone == nil {
		err = cases.Invalid(map[string]string{"time_zone": `is required: an IANA zone, or "" for the organisation's`})
	}
	var u *cases.User
	if err == nil {
		u, err = s.DB.SetUserZone(c.Request.Context(), currentUser(c).Email, id, *body.TimeZone)
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *Server) profileRoutes(p *gin.RouterGroup) {
	// An admin sets anyone's zone from the users page.
	p.POST("/admin/users/:id/time_zone", s.signedIn(admins), func(c *gin.Context) {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			s.portalError(c, http.StatusNotFound, "No such user.")
			return
		}
		if _, err := s.DB.SetUserZone(c.Request.Context(), currentUser(c).Email, id, c.PostForm("time_zone")); err != nil {
			s.userChangeFailed(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/admin/users?done=user-saved")
	})
	p.GET("/profile", s.signedIn(anyPortalUser), func(c *gin.Context) {
		s.render(c, http.StatusOK, "profile", "Your settings", profileData{Zone: currentUser(c).TimeZone, OrgZone: s.zone(c).String()})
	})
	p.POST("/profile", s.signedIn(anyPortalUser), func(c *gin.Context) {
		u := currentUser(c)
		name := c.PostForm("time_zone")
		next, err := s.DB.SetUserZone(c.Request.Context(), u.Email, u.ID, name)
		if err != nil {
			code := cases.ErrorCode(err)
			if code != cases.EINVALID {
				s.portalFail(c, err)
				return
			}
			s.render(c, statusOf(code), "profile", "Your settings", profileData{Zone: name, OrgZone: s.zone(c).String(),
				Fields: cases.ErrorFields(err), Message: "Your time zone was not changed."})
			return
		}
		*u = *next // this page already shows the new zone
		c.Redirect(http.StatusSeeOther, "/profile?done=profile")
	})
}
