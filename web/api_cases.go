package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
)

func (s *Server) me(c *gin.Context) { c.JSON(http.StatusOK, currentUser(c)) }

// createCase logs a request: validate, decide, store — the decision and the
// case commit together, so no case ever exists without its decision.
func (s *Server) createCase(c *gin.Context) {
	req, err := s.readRequest(c)
	if err != nil {
		s.apiError(c, err)
		return
	}
	now := s.Now()
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = now.Truncate(time.Microsecond)
	}
	if err := s.computeDue(c, req); err != nil {
		s.apiError(c, err)
		return
	}
	dec, err := s.decide(c, req, now)
	if err != nil {
		s.apiError(c, err)
		return
	}
	if err := s.DB.CheckReceipt(c.Request.Context(), req, now); err != nil {
		s.apiError(c, err)
		return
	}
	kase, err := s.DB.CreateCase(c.Request.Context(), currentUser(c).Email, store.NewCase{Request: req, Decision: dec})
	if err == nil {
		err = s.withClocks(c, kase)
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.Header("Location", "/api/v1/cases/"+strconv.FormatInt(kase.ID, 10))
	c.JSON(http.StatusCreated, kase)
}

// decide runs the policy on a request with the agency directory's match of
// its agency (store.DB.Resolve); the domains the request claims are kept as
// claimed and never trusted.
func (s *Server) decide(c *gin.Context, req *cases.Request, at time.Time) (*cases.Decision, error) {
	if err := s.DB.Resolve(c.Request.Context(), req); err != nil {
		return nil, err
	}
	d := s.Policy().Decide(req, at)
	s.metrics.decisions.WithLabelValues(string(d.Outcome)).Inc()
	return d, nil
}

// readRequest reads and validates an intake request from the body; a date
// without a time is read in the organisation's zone.
func (s *Server) readRequest(c *gin.Context) (*cases.Request, error) {
	body, err := readBody(c, MaxBodySize)
	if err != nil {
		return nil, err
	}
	return cases.ParseRequestIn(body, s.zone(c))
}

// parseFilter reads list filters from the query string, refusing unknown
// values instead of silently listing everything.
func parseFilter(c *gin.Context) (cases.CaseFilter, error) {
	f := cases.CaseFilter{
		Status:   cases.Status(c.Query("status")),
		Country:  strings.ToUpper(strings.TrimSpace(c.Query("country"))),
		Process:  cases.ProcessType(c.Query("process")),
		Query:    c.Query("q"),
		Assignee: c.Query("assignee"),
	}
	bad := map[string]string{}
	// Every parameter, the portal's cursor and sort included: a NUL or
	// bytes that are not UTF-8 would fail the query on PostgreSQL.
	for name, vs := range c.Request.URL.Query() {
		for _, v := range vs {
			if msg := cases.TextProblem(v); msg != "" {
				bad[name] = msg
			}
		}
	}
	if f.Status != "" && !f.Status.Valid() {
		bad["status"] = fmt.Sprintf("%q is not a status (received, approved, rejected, produced, closed)", f.Status)
	}
	if f.Process != "" && !f.Process.Valid() {
		bad["process"] = fmt.Sprintf("%q is not a process type", f.Process)
	}
	if f.Country != "" {
		if msg := cases.ValidCountry(f.Country); msg != "" {
			bad["country"] = msg
		}
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"due_before", &f.DueBefore}, {"due_after", &f.DueAfter}} {
		if v := c.Query(p.name); v != "" {
			t, err := cases.ParseTime(v)
			if err != nil {
				bad[p.name] = err.Error()
			}
			*p.dst = &t
		}
	}
	var limit int64
	for name, dst := range map[string]*int64{"after": &f.After, "limit": &limit} {
		if v := c.Query(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				bad[name] = "must be a whole number"
			}
			*dst = n
		}
	}
	if limit > cases.MaxPageSize {
		bad["limit"] = fmt.Sprintf("at most %d cases a page: follow next for the rest", cases.MaxPageSize)
	}
	f.Limit = int(limit)
	if len(bad) > 0 {
		return f, cases.Invalid(bad)
	}
	return f, nil
}

func (s *Server) listCases(c *gin.Context) {
	f, err := parseFilter(c)
	if err != nil {
		s.apiError(c, err)
		return
	}
	page, err := s.DB.ListCases(c.Request.Context(), f)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) getCase(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err == nil {
		err = s.withClocks(c, kase)
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, kase)
}

func (s *Server) getDecision(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	if kase.Decision == nil {
		s.apiError(c, cases.Errorf(cases.ENOTFOUND, "case %s has no decision", kase.Number))
		return
	}
	c.JSON(http.StatusOK, kase.Decision)
}

func (s *Server) caseEvents(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	evs, err := s.DB.Events(c.Request.Context(), "case", strconv.FormatInt(kase.ID, 10))
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": evs})
}

func (s *Server) approveCase(c *gin.Context) {
	var body struct {
		Note string `json:"note"`
	}
	if err := bindOptionalJSON(c, &body); err != nil {
		s.apiError(c, err)
		return
	}
	s.review(c, cases.StatusApproved, body.Note)
}

func (s *Server) rejectCase(c *gin.Context) {
	var body struct {
		Reason string `json:"reason"`
	}
	if err := bindOptionalJSON(c, &body); err != nil {
		s.apiError(c, err)
		return
	}
	s.review(c, cases.StatusRejected, body.Reason)
}

func (s *Server) review(c *gin.Context, verdict cases.Status, note string) {
	kase, err := s.DB.Review(c.Request.Context(), currentUser(c), c.Param("id"), verdict, note)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, kase)
}

func (s *Server) closeCase(c *gin.Context) {
	var body struct {
		Reason string `json:"reason"`
	}
	if err := bindOptionalJSON(c, &body); err != nil {
		s.apiError(c, err)
		return
	}
	kase, err := s.DB.CloseCase(c.Request.Context(), currentUser(c), c.Param("id"), body.Reason)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, kase)
}

func (s *Server) addNote(c *gin.Context) {
	var body struct {
		Body string `json:"body"`
	}
	if err := bindJSON(c, &body); err != nil {
		s.apiError(c, err)
		return
	}
	if err := s.DB.AddNote(c.Request.Context(), currentUser(c), c.Param("id"), body.Body); err != nil {
		s.apiError(c, err)
		return
	}
	s.getCaseStatus(c, http.StatusCreated)
}

func (s *Server) assignCase(c *gin.Context) {
	var body struct {
		Assignee string `json:"assignee"`
	}
	if err := bindJSON(c, &body); err != nil {
		s.apiError(c, err)
		return
	}
	if err := s.DB.Assign(c.Request.Context(), currentUser(c), c.Param("id"), body.Assignee); err != nil {
		s.apiError(c, err)
		return
	}
	s.getCaseStatus(c, http.StatusOK)
}

func (s *Server) getCaseStatus(c *gin.Context, status int) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(status, kase)
}

// uploadDocument takes the legal-process PDF either as the raw body
// (Content-Type: application/pdf) or as the "document" part of a form.
func (s *Server) uploadDocument(c *gin.Context) {
	limit := int64(cases.MaxDocumentSize + 1<<20)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	name := c.Query("filename")
	var content []byte
	var err error
	if strings.HasPrefix(c.ContentType(), "multipart/") {
		fh, ferr := c.FormFile("document")
		if ferr != nil {
			s.apiError(c, tooLargeOr(ferr, cases.Invalid(map[string]string{"document": "a PDF file in the form field \"document\" is required"})))
			return
		}
		if fh.Size > cases.MaxDocumentSize {
			s.apiError(c, &cases.Error{Code: cases.ETOOLARGE, Message: "document too large", Fields: map[string]string{"document": "is larger than 20 MiB"}})
			return
		}
		name = fh.Filename
		f, ferr := fh.Open()
		if ferr != nil {
			s.apiError(c, ferr)
			return
		}
		defer f.Close()
		content, err = io.ReadAll(f)
	} else {
		content, err = io.ReadAll(c.Request.Body)
	}
	if err != nil {
		s.apiError(c, tooLargeOr(err, cases.Invalid(map[string]string{"document": "could not be read"})))
		return
	}
	doc, err := s.DB.AttachDocument(c.Request.Context(), currentUser(c), c.Param("id"), name, content)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusCreated, doc)
}

// tooLargeOr reports a read that hit http.MaxBytesReader's limit as an
// upload too large, and any other failure as otherwise.
func tooLargeOr(err error, otherwise error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &cases.Error{Code: cases.ETOOLARGE, Message: "upload too large", Fields: map[string]string{"document": "is larger than 20 MiB"}}
	}
	return otherwise
}

func (s *Server) downloadDocument(c *gin.Context) {
	doc, r, err := s.DB.OpenDocument(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	sendDocument(c, doc, r)
}

// sendDocument answers with a case's legal-process PDF as a download, its
// SHA-256 in a header so the receiver can check it, streaming r (from the
// blob store) and closing it. A read that fails part-way cuts the answer
// short of its Content-Length, so the client sees a failed download.
func sendDocument(c *gin.Context, doc *cases.Document, r io.ReadCloser) {
	defer r.Close()
	c.DataFromReader(http.StatusOK, doc.Size, "application/pdf", r, map[string]string{
		"Content-Disposition": fmt.Sprintf("attachment; filename=%q", doc.Filename),
		"X-Content-SHA256":    doc.SHA256,
	})
}

// bindOptionalJSON decodes a JSON body if there is one; approve and reject
// may be posted with no body at all.
func bindOptionalJSON(c *gin.Context, v any) error {
	b, err := readBody(c, MaxBodySize)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil
	}
	return cases.DecodeStrict(b, v)
}
