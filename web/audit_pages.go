package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter/csvsafe"
)

// The auditors' pages (issue 16): browse and filter the audit log, run its
// verification from the portal, and export the case list and the audit log
// as CSV.

func (s *Server) auditPortalRoutes(p *gin.RouterGroup) {
	p.GET("/audit", s.signedIn(auditors), s.auditPage)
	p.GET("/audit/verify", s.signedIn(auditors), s.auditVerifySubmit)
	p.GET("/audit.csv", s.signedIn(auditors), s.auditCSV)
	p.GET("/cases.csv", s.signedIn(auditors), s.casesCSV)
}

func auditFilter(c *gin.Context) (store.AuditFilter, error) {
	f := store.AuditFilter{Actor: c.Query("actor"), Action: c.Query("action"), Entity: c.Query("entity"), EntityID: c.Query("entity_id")}
	var limit int64
	for name, dst := range map[string]*int64{"before": &f.Before, "limit": &limit} {
		if v := c.Query(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return f, cases.Invalid(map[string]string{name: "must be a whole number"})
			}
			*dst = n
		}
	}
	if limit > store.MaxAuditPage {
		return f, cases.Invalid(map[string]string{"limit": fmt.Sprintf("at most %d events a page: follow next for the rest", store.MaxAuditPage)})
	}
	f.Limit = int(limit)
	return f, nil
}

func (s *Server) apiAuditEvents(c *gin.Context) {
	f, err := auditFilter(c)
	if err == nil {
		var evs []*cases.Event
		var next int64
		if evs, next, err = s.DB.AuditEvents(c.Request.Context(), f); err == nil {
			c.JSON(http.StatusOK, gin.H{"events": evs, "next": next})
			return
		}
	}
	s.apiError(c, err)
}

type auditData struct {
	Filter   store.AuditFilter
	Events   []timelineEntry
	NextURL  string
	Query    string // the filter as a query string, for the CSV link
	Verified *auditVerdict
	Fields   map[string]string
}

type auditVerdict struct {
	OK      bool
	Events  int64
	Problem string
}

func (d auditData) ErrorText() string {
	if len(d.Fields) > 0 {
		return "Please correct the filter."
	}
	return ""
}

func (s *Server) auditPage(c *gin.Context) { s.renderAudit(c, nil) }

func (s *Server) renderAudit(c *gin.Context, verdict *auditVerdict) {
	f, err := auditFilter(c)
	d := auditData{Filter: f, Verified: verdict}
	var evs []*cases.Event
	var next int64
	if err == nil {
		evs, next, err = s.DB.AuditEvents(c.Request.Context(), f)
	}
	if err != nil {
		if cases.ErrorCode(err) != cases.EINVALID {
			s.portalFail(c, err)
			return
		}
		d.Fields = cases.ErrorFields(err)
		s.render(c, http.StatusBadRequest, "audit", "Audit log", d)
		return
	}
	for _, e := range evs {
		d.Events = append(d.Events, timelineEntry{Event: e, Detail: eventDetail(e)})
	}
	q := c.Request.URL.Query()
	q.Del("before")
	d.Query = q.Encode()
	if next > 0 {
		q.Set("before", strconv.FormatInt(next, 10))
		d.NextURL = "/audit?" + q.Encode()
	}
	s.render(c, http.StatusOK, "audit", "Audit log", d)
}

// auditVerifySubmit walks the whole hash chain and shows the verdict: a
// read, so a GET (auditors change nothing).
func (s *Server) auditVerifySubmit(c *gin.Context) {
	n, err := s.DB.VerifyAudit(c.Request.Context())
	var tamper *cases.TamperError
	switch {
	case errors.As(err, &tamper):
		s.renderAudit(c, &auditVerdict{Events: n, Problem: tamper.Problem})
	case err != nil:
		s.portalFail(c, err)
	default:
		s.renderAudit(c, &auditVerdict{OK: true, Events: n})
	}
}

// writeCSV writes one row, every cell neutralised (exporter/csvsafe: a
// cell a spreadsheet would run as a formula gets a leading quote).
func writeCSV(w *csvsafe.Writer, cells ...string) error { return w.Write(cells) }

func csvHeaders(c *gin.Context, name string) *csvsafe.Writer {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Status(http.StatusOK)
	return csvsafe.NewWriter(c.Writer)
}

// maxCSVRows bounds an export; the filters narrow a larger one.
const maxCSVRows = 100_000

// auditCSV exports the filtered audit log, newest first, a page at a time.
func (s *Server) auditCSV(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	f.Limit = 1000
	evs, next, err := s.DB.AuditEvents(c.Request.Context(), f)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	w := csvHeaders(c, "audit-log.csv")
	writeCSV(w, "seq", "at", "actor", "action", "entity", "entity_id", "before", "after", "prev_hash", "hash")
	for rows := 0; ; {
		for _, e := range evs {
			writeCSV(w, strconv.FormatInt(e.Seq, 10), e.At.Format("2006-01-02T15:04:05.000000Z07:00"), e.Actor, e.Action, e.Entity, e.EntityID,
				string(e.Before), string(e.After), e.PrevHash, e.Hash)
		}
		if rows += len(evs); next == 0 || rows >= maxCSVRows {
			break
		}
		f.Before = next
		if evs, next, err = s.DB.AuditEvents(c.Request.Context(), f); err != nil {
			s.Logger.Error("audit csv", "id", c.GetString("request_id"), "err", err)
			break
		}
	}
	w.Flush()
}

// casesCSV exports the case list with the list's filters, newest first.
func (s *Server) casesCSV(c *gin.Context) {
	f, err := parseFilter(c)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	f.Limit = 500
	page, err := s.DB.ListSummaries(c.Request.Context(), f, "", false, "")
	if err != nil {
		s.portalFail(c, err)
		return
	}
	w := csvHeaders(c, "cases.csv")
	writeCSV(w, "number", "status", "agency", "country", "process_type", "received_at", "due_at", "targets", "outcome", "assignee")
	for rows := 0; ; {
		for _, k := range page.Cases {
			due := ""
			if k.DueAt != nil {
				due = k.DueAt.Format("2006-01-02T15:04:05Z07:00")
			}
			writeCSV(w, k.Number, string(k.Status), k.AgencyName, k.Country, string(k.Process), k.ReceivedAt.Format("2006-01-02T15:04:05Z07:00"),
				due, strconv.Itoa(k.Targets), string(k.Outcome), k.Assignee)
		}
		if rows += len(page.Cases); page.Next == "" || rows >= maxCSVRows {
			break
		}
		f.After, _ = strconv.ParseInt(page.Next, 10, 64)
		if page, err = s.DB.ListSummaries(c.Request.Context(), f, "", false, ""); err != nil {
			s.Logger.Error("cases csv", "id", c.GetString("request_id"), "err", err)
			break
		}
	}
	w.Flush()
}

// auditURL links an event's entity to its page, where there is one.
func auditURL(e *cases.Event) string {
	if e.Entity == "case" {
		return "/cases/" + url.PathEscape(e.EntityID)
	}
	return ""
}
