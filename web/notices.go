package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
)

// User notice and nondisclosure orders (issue 16): the orders of a case,
// the notice queue, recording a notice sent or an exception, and the
// dashboard's reminder of orders lapsing. A notice recorded with an
// e-mail address is also sent (mail.go): the letter and the process,
// queued with the record.

func (s *Server) noticeRoutes(api *gin.RouterGroup) {
	api.GET("/cases/:id/notice", s.bearer(anyReader), s.apiNotice)
	api.POST("/cases/:id/notice", s.bearer(caseLogger), s.apiRecordNotice)
	api.POST("/cases/:id/ndos", s.bearer(caseLogger), s.apiAddNDO)
	api.POST("/cases/:id/ndos/:ndo/extend", s.bearer(caseLogger), s.apiExtendNDO)
	api.GET("/notices", s.bearer(anyReader), s.apiNotices)
}

func (s *Server) noticePortalRoutes(p *gin.RouterGroup) {
	p.POST("/cases/:id/notice", s.signedIn(caseLogger), s.noticeSubmit)
	p.POST("/cases/:id/ndos", s.signedIn(caseLogger), s.ndoSubmit)
	p.POST("/cases/:id/ndos/:ndo/extend", s.signedIn(caseLogger), s.ndoExtendSubmit)
	p.GET("/notices", s.signedIn(anyReader), s.noticesPage)
}

func init() {
	for k, v := range map[string]string{
		"ndo.add": "Nondisclosure order recorded", "ndo.extend": "Nondisclosure order extended",
		"notice.sent": "User notified", "notice.exception": "User notice exception",
	} {
		auditLabels[k] = v
	}
	flashes["notice"] = "User notice recorded: a production held for it may go ahead."
	flashes["ndo"] = "Nondisclosure order recorded."
	flashes["ndo-extended"] = "Nondisclosure order extended."
}

// noticeInfo is what the case page shows of the user notice.
type noticeInfo struct {
	Notice cases.Notice
	NDOs   []cases.NDO
	Record *cases.NoticeRecord
}

func (s *Server) loadNotice(c *gin.Context, kase *cases.Case) (*noticeInfo, error) {
	ctx := c.Request.Context()
	n := &noticeInfo{}
	var err error
	if n.NDOs, err = s.DB.NDOs(ctx, kase.ID); err != nil {
		return nil, err
	}
	if n.Record, err = s.DB.NoticeRecord(ctx, kase.ID); err != nil {
		return nil, err
	}
	n.Notice = cases.NoticeFor(kase, n.NDOs, n.Record, s.DB.Now())
	return n, nil
}

func (s *Server) apiNotice(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	n, err := s.loadNotice(c, kase)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"notice": n.Notice, "ndos": nonNilNDOs(n.NDOs), "record": n.Record})
}

func nonNilNDOs(n []cases.NDO) []cases.NDO {
	if n == nil {
		return []cases.NDO{}
	}
	return n
}

func (s *Server) apiRecordNotice(c *gin.Context) {
	var body struct {
		Kind, Method, Note string
		EmailTo            string `json:"email_to"`
	}
	if err := bindJSON(c, &body); err != nil {
		s.apiError(c, err)
		return
	}
	rec, err := s.recordNotice(c, body.Kind, body.Method, body.Note, body.EmailTo)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusCreated, rec)
}

func (s *Server) apiAddNDO(c *gin.Context) {
	var n cases.NDO
	if err := bindJSON(c, &n); err != nil {
		s.apiError(c, err)
		return
	}
	out, err := s.DB.AddNDO(c.Request.Context(), currentUser(c), c.Param("id"), cases.NDO{Court: n.Court, Reference: n.Reference, ExpiresAt: n.ExpiresAt})
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *Server) apiExtendNDO(c *gin.Context) {
	var body struct {
		ExpiresAt time.Time `json:"expires_at"`
		Reason    string    `json:"reason"`
	}
	if err := bindJSON(c, &body); err != nil {
		s.apiError(c, err)
		return
	}
	id, _ := strconv.ParseInt(c.Param("ndo"), 10, 64)
	out, err := s.DB.ExtendNDO(c.Request.Context(), currentUser(c), c.Param("id"), id, body.ExpiresAt, body.Reason)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) apiNotices(c *gin.Context) {
	q, err := s.DB.NoticeQueue(c.Request.Context(), 200)
	if err != nil {
		s.apiError(c, err)
		return
	}
	if q == nil {
		q = []store.NoticeItem{}
	}
	c.JSON(http.StatusOK, gin.H{"notices": q})
}

// formDate reads an optional YYYY-MM-DD form field as midnight UTC.
func formDate(c *gin.Context, name string) (*time.Time, error) {
	v := c.PostForm(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return nil, cases.Invalid(map[string]string{name: "must be a date (YYYY-MM-DD)"})
	}
	return &t, nil
}

func (s *Server) noticeSubmit(c *gin.Context) {
	if _, err := s.recordNotice(c, c.PostForm("kind"), c.PostForm("method"), c.PostForm("note"), c.PostForm("email_to")); err != nil {
		s.caseFormError(c, err, "")
		return
	}
	s.backToNotice(c, "notice")
}

func (s *Server) ndoSubmit(c *gin.Context) {
	exp, err := formDate(c, "ndo_expires_at")
	if err == nil {
		_, err = s.DB.AddNDO(c.Request.Context(), currentUser(c), c.Param("id"), cases.NDO{Court: c.PostForm("court"), Reference: c.PostForm("ndo_reference"), ExpiresAt: exp})
	}
	if err != nil {
		s.caseFormError(c, err, "")
		return
	}
	s.backToNotice(c, "ndo")
}

func (s *Server) ndoExtendSubmit(c *gin.Context) {
	until, err := formDate(c, "until")
	if err == nil && until == nil {
		err = cases.Invalid(map[string]string{"until": "is required"})
	}
	if err == nil {
		id, _ := strconv.ParseInt(c.Param("ndo"), 10, 64)
		_, err = s.DB.ExtendNDO(c.Request.Context(), currentUser(c), c.Param("id"), id, *until, c.PostForm("reason"))
	}
	if err != nil {
		s.caseFormError(c, err, "")
		return
	}
	s.backToNotice(c, "ndo-extended")
}

func (s *Server) backToNotice(c *gin.Context, done string) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.portalFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=%s#notice", kase.ID, done))
}

type noticesData struct {
	Queue, Lapsing []store.NoticeItem
}

func (d noticesData) ErrorText() string { return "" }

// ndoWarning is how far ahead the reminder of a lapsing order looks, and
// how long after the lapse it keeps reminding while no notice is recorded.
const (
	ndoAhead  = 14 * 24 * time.Hour
	ndoBehind = 30 * 24 * time.Hour
)

func (s *Server) noticesPage(c *gin.Context) {
	ctx := c.Request.Context()
	var d noticesData
	var err error
	if d.Queue, err = s.DB.NoticeQueue(ctx, 200); err == nil {
		now := s.DB.Now()
		d.Lapsing, err = s.DB.LapsingNDOs(ctx, now.Add(-ndoBehind), now.Add(ndoAhead), 200)
	}
	if err != nil {
		s.portalFail(c, err)
		return
	}
	s.render(c, http.StatusOK, "notices", "User notice", d)
}

// lapsingPanel is the dashboard's reminder: orders lapsed in the last 30
// days or lapsing in the next 14, on cases with no notice recorded.
func (s *Server) lapsingPanel(c *gin.Context, now time.Time) ([]store.NoticeItem, error) {
	return s.DB.LapsingNDOs(c.Request.Context(), now.Add(-ndoBehind), now.Add(ndoAhead), panelRows)
}
