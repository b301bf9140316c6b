package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter"
)

// The case work of a legal team (issue 16): assignment and workload,
// closing and reopening, refusing or challenging, the reviewer's shaping of
// a decision, clarification and withdrawal; in the API and on the case
// page.

var supervisors = func(u *cases.User) bool { return u.Role == cases.RoleSupervisor }

// caseworkRoutes registers the API's case-work routes.
func (s *Server) caseworkRoutes(api *gin.RouterGroup) {
	api.POST("/cases/:id/reopen", s.bearer(supervisors), s.apiCasework(s.reopen, "reason"))
	api.POST("/cases/:id/end", s.bearer(reviewers), s.apiCasework(s.end, "result", "reason", "note"))
	api.POST("/cases/:id/shape", s.bearer(reviewers), apiBody(s, s.DB.ShapeDecision))
	api.POST("/cases/:id/targets/decide", s.bearer(reviewers), apiBody(s, s.DB.DecideTarget))
	api.POST("/cases/:id/clarification", s.bearer(caseLogger), s.apiCasework(s.askClarification, "question"))
	api.POST("/cases/:id/clarification/answer", s.bearer(caseLogger), s.apiCasework(s.answerClarification, "answer"))
	api.POST("/cases/:id/withdraw", s.bearer(caseLogger), s.apiCasework(s.withdraw, "reason"))
	api.GET("/workload", s.bearer(anyReader), s.apiWorkload)
	api.GET("/cases/:id/related", s.bearer(anyReader), s.apiRelated)
	api.GET("/duplicates", s.bearer(anyReader), s.apiDuplicates)
	s.noticeRoutes(api)
	api.GET("/audit/events", s.bearer(auditors), s.apiAuditEvents)
	s.attachmentAPIRoutes(api)
}

// caseworkPortalRoutes registers the case page's case-work forms and the
// workload page.
func (s *Server) caseworkPortalRoutes(p *gin.RouterGroup) {
	p.POST("/cases/:id/assign", s.signedIn(caseLogger), s.assignSubmit)
	p.POST("/cases/:id/close", s.signedIn(caseLogger), s.portalCasework(s.closeWith, "closed"))
	p.POST("/cases/:id/reopen", s.signedIn(supervisors), s.portalCasework(s.reopen, "reopened"))
	p.POST("/cases/:id/end", s.signedIn(reviewers), s.portalCasework(s.end, "ended"))
	p.POST("/cases/:id/shape", s.signedIn(reviewers), s.shapeSubmit)
	p.POST("/cases/:id/clarification", s.signedIn(caseLogger), s.portalCasework(s.askClarification, "clarification-requested"))
	p.POST("/cases/:id/clarification/answer", s.signedIn(caseLogger), s.portalCasework(s.answerClarification, "clarification-answered"))
	p.POST("/cases/:id/withdraw", s.signedIn(caseLogger), s.portalCasework(s.withdraw, "withdrawn"))
	p.GET("/workload", s.signedIn(anyReader), s.workloadPage)
	s.noticePortalRoutes(p)
	s.auditPortalRoutes(p)
	s.attachmentPortalRoutes(p)
}

// caseworkFuncs are the case page's helpers for the case-work forms.
var caseworkFuncs = template.FuncMap{
	"resultReasons":  func() []string { return cases.RefusalReasons },
	"targetDecision": targetDecision,
	"shapedCategory": func(c *cases.Case, cat cases.Category) bool {
		return c.Shape == nil || len(c.Shape.Categories) == 0 || slices.Contains(c.Shape.Categories, cat)
	},
	"isSupervisor":    func(u *cases.User) bool { return u != nil && supervisors(u) },
	"hasPrefix":       strings.HasPrefix,
	"auditURL":        auditURL,
	"attachmentKinds": func() []string { return store.AttachmentKinds },
}

// targetDecision is the reviewer's decision on one target, if any.
func targetDecision(c *cases.Case, value string) *cases.TargetDecision {
	if c.Shape == nil {
		return nil
	}
	for i := range c.Shape.Targets {
		if c.Shape.Targets[i].Value == value {
			return &c.Shape.Targets[i]
		}
	}
	return nil
}

func init() {
	maps.Copy(flashes, map[string]string{
		"assigned": "Assignment saved.", "closed": "Case closed.", "reopened": "Case reopened.",
		"ended": "Case ended.", "shaped": "Decision shaped: the package will follow it.",
		"clarification-requested": "Sent back for clarification.", "clarification-answered": "Clarification recorded: the case awaits review again.",
		"withdrawn": "Withdrawal recorded: collection and scheduled productions have stopped.",
	})
	maps.Copy(auditLabels, map[string]string{
		"content_requested": "Content requested", "other": "Other",
		"case.reopen": "Reopened", "case.end": "Ended", "case.result": "Result recorded", "case.shape": "Decision shaped",
		"case.clarification_request": "Clarification requested", "case.clarification_answer": "Clarification answered",
		"case.withdraw": "Withdrawn by the agency",
	})
}

// caseChange is one case-work change: the case ref, the form's or body's
// fields, and the signed-in user.
type caseChange func(c *gin.Context, u *cases.User, ref string, form map[string]string) (*cases.Case, error)

func (s *Server) reopen(c *gin.Context, u *cases.User, ref string, f map[string]string) (*cases.Case, error) {
	return s.DB.ReopenCase(c.Request.Context(), u, ref, f["reason"])
}

func (s *Server) closeWith(c *gin.Context, u *cases.User, ref string, f map[string]string) (*cases.Case, error) {
	return s.DB.CloseCase(c.Request.Context(), u, ref, f["reason"])
}

func (s *Server) end(c *gin.Context, u *cases.User, ref string, f map[string]string) (*cases.Case, error) {
	return s.DB.EndCase(c.Request.Context(), u, ref, cases.Result(f["result"]), f["reason"], f["note"])
}

func (s *Server) askClarification(c *gin.Context, u *cases.User, ref string, f map[string]string) (*cases.Case, error) {
	if kase, err := s.DB.Case(c.Request.Context(), ref); err == nil {
		if agency, err := s.DB.AgencyCase(c.Request.Context(), kase.ID); err == nil && agency {
			// Asked of an agency that submitted through its portal: the
			// question goes in the case's thread and the officers are told
			// (thread.go).
			return s.askInThread(c, u, kase, f["question"])
		}
	}
	return s.DB.RequestClarification(c.Request.Context(), u, ref, f["question"])
}

func (s *Server) answerClarification(c *gin.Context, u *cases.User, ref string, f map[string]string) (*cases.Case, error) {
	return s.DB.AnswerClarification(c.Request.Context(), u, ref, f["answer"])
}

func (s *Server) withdraw(c *gin.Context, u *cases.User, ref string, f map[string]string) (*cases.Case, error) {
	return s.DB.Withdraw(c.Request.Context(), u, ref, f["reason"])
}

// apiCasework runs a change with a JSON object of strings, the change's
// keys, as its fields and answers the case as it is after. A key it does
// not take, or a value that is not a string, is refused naming that key:
// nothing a client sends is silently dropped.
func (s *Server) apiCasework(change caseChange, keys ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw := map[string]json.RawMessage{}
		if err := bindOptionalJSON(c, &raw); err != nil {
			s.apiError(c, err)
			return
		}
		body, bad := map[string]string{}, map[string]string{}
		for k, v := range raw {
			var str string
			switch {
			case !slices.Contains(keys, k):
				bad[k] = "is not a field of this request (" + strings.Join(keys, ", ") + ")"
			case json.Unmarshal(v, &str) != nil:
				bad[k] = "must be a string"
			default:
				body[k] = str
			}
		}
		if len(bad) > 0 {
			s.apiError(c, cases.Invalid(bad))
			return
		}
		kase, err := change(c, currentUser(c), c.Param("id"), body)
		if err != nil {
			s.apiError(c, err)
			return
		}
		c.JSON(http.StatusOK, kase)
	}
}

// portalCasework runs a change with the posted form and returns to the case
// page, or shows the refusal on it.
func (s *Server) portalCasework(change caseChange, done string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.ParseForm()
		form := map[string]string{}
		for k, v := range c.Request.PostForm {
			form[k] = v[0]
		}
		kase, err := change(c, currentUser(c), c.Param("id"), form)
		if err != nil {
			s.caseFormError(c, err, "")
			return
		}
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=%s#casework", kase.ID, done))
	}
}

// assignSubmit assigns the case to the chosen person, to the signed-in
// user (the "Assign to me" button) or to no one ("").
func (s *Server) assignSubmit(c *gin.Context) {
	u := currentUser(c)
	to := c.PostForm("assignee")
	if c.PostForm("me") != "" {
		to = u.Email
	}
	if err := s.DB.Assign(c.Request.Context(), u, c.Param("id"), to); err != nil {
		s.caseFormError(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, "/cases/"+url.PathEscape(c.Param("id"))+"?done=assigned#casework")
}

// apiBody runs a case change that takes a JSON body of type T and answers
// the case as it is after.
func apiBody[T any](s *Server, change func(ctx context.Context, u *cases.User, ref string, body T) (*cases.Case, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body T
		if err := bindJSON(c, &body); err != nil {
			s.apiError(c, err)
			return
		}
		kase, err := change(c.Request.Context(), currentUser(c), c.Param("id"), body)
		if err != nil {
			s.apiError(c, err)
			return
		}
		c.JSON(http.StatusOK, kase)
	}
}

// shapeSubmit reads the shaping form: the allowed categories kept
// (cat_<category>), an optional window (shape_from, shape_to, dates), a
// decision per target (target_<i> produce or withhold, target_reason_<i>)
// and the reason.
func (s *Server) shapeSubmit(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.portalFail(c, err)
		return
	}
	shape := cases.Shape{Reason: c.PostForm("reason")}
	bad := map[string]string{}
	if kase.Decision != nil {
		for _, a := range kase.Decision.Allowed {
			if c.PostForm("cat_"+string(a.Category)) != "" {
				shape.Categories = append(shape.Categories, a.Category)
			}
		}
		if len(shape.Categories) == len(kase.Decision.Allowed) {
			shape.Categories = nil // all kept: not narrowed
		} else if len(shape.Categories) == 0 {
			bad["categories"] = "keep at least one category, or end the case instead"
		}
	}
	from, to := c.PostForm("shape_from"), c.PostForm("shape_to")
	if from != "" || to != "" {
		f, ferr := time.Parse("2006-01-02", from)
		t, terr := time.Parse("2006-01-02", to)
		if ferr != nil || terr != nil {
			bad["window"] = "give both dates as YYYY-MM-DD"
		} else {
			shape.Window = &cases.Window{From: f, To: t.AddDate(0, 0, 1)}
		}
	}
	for i, t := range kase.Targets {
		switch c.PostForm(fmt.Sprintf("target_%d", i)) {
		case "withhold":
			shape.Targets = append(shape.Targets, cases.TargetDecision{Value: t.Value, Reason: c.PostForm(fmt.Sprintf("target_reason_%d", i))})
		case "produce", "":
			if prev := targetDecision(kase, t.Value); prev != nil {
				shape.Targets = append(shape.Targets, cases.TargetDecision{Value: t.Value, Produce: true})
			}
		}
	}
	if len(bad) > 0 {
		s.caseFormError(c, cases.Invalid(bad), "")
		return
	}
	if _, err := s.DB.ShapeDecision(c.Request.Context(), currentUser(c), c.Param("id"), shape); err != nil {
		s.caseFormError(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=shaped#casework", kase.ID))
}

// casework is what the case page shows of the case work: the people a case
// can be assigned to, and whether a production found no records and waits
// for confirmation.
type casework struct {
	Staff         []string
	ConfirmNoData bool
	Notice        *noticeInfo
	// Related are the other cases naming the same account or reference.
	Related []store.Related
	// Attachments are the case's other documents, superseded ones too.
	Attachments []store.Attachment
}

func (s *Server) loadCasework(c *gin.Context, kase *cases.Case) (*casework, error) {
	users, err := s.DB.Users(c.Request.Context())
	if err != nil {
		return nil, err
	}
	w := &casework{}
	if w.Notice, err = s.loadNotice(c, kase); err != nil {
		return nil, err
	}
	if w.Related, err = s.DB.RelatedCases(c.Request.Context(), kase); err != nil {
		return nil, err
	}
	if w.Attachments, err = s.DB.Attachments(c.Request.Context(), kase.ID); err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.CanLog() {
			w.Staff = append(w.Staff, u.Email)
		}
	}
	slices.Sort(w.Staff)
	return w, nil
}

// noDataConfirmation shows the case page asking to confirm a production
// that found no records.
func (s *Server) noDataConfirmation(c *gin.Context, err error) bool {
	if !errors.Is(err, exporter.ErrNoRecords) {
		return false
	}
	d, lerr := s.loadCase(c)
	if lerr != nil {
		s.portalFail(c, lerr)
		return true
	}
	d.casework.ConfirmNoData = true
	d.Message = cases.ErrorMessage(err)
	s.render(c, http.StatusConflict, "case", d.Case.Number, d)
	return true
}

func (s *Server) apiWorkload(c *gin.Context) {
	w, err := s.DB.Workloads(c.Request.Context(), s.Now())
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"workload": w})
}

type workloadData struct {
	Rows []workloadRow
}

type workloadRow struct {
	Assignee, URL string
	Open, Overdue int
}

func (d workloadData) ErrorText() string { return "" }

func (s *Server) workloadPage(c *gin.Context) {
	w, err := s.DB.Workloads(c.Request.Context(), s.Now())
	if err != nil {
		s.portalFail(c, err)
		return
	}
	var d workloadData
	for _, r := range w {
		row := workloadRow{Assignee: r.Assignee, Open: r.Open, Overdue: r.Overdue,
			URL: "/cases?" + url.Values{"assignee": {r.Assignee}}.Encode()}
		if r.Assignee == "" {
			row.Assignee = "Unassigned"
		}
		d.Rows = append(d.Rows, row)
	}
	s.render(c, http.StatusOK, "workload", "Workload", d)
}

// openStatus is the statuses whose cases a person's queue lists.
func queueStatuses(mine bool) []cases.Status {
	if mine {
		return cases.OpenStatuses
	}
	return []cases.Status{cases.StatusReceived, cases.StatusApproved}
}

func (s *Server) apiRelated(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	rel, err := s.DB.RelatedCases(c.Request.Context(), kase)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"related": rel})
}

// apiDuplicates is the intake's lookup: the cases naming any of the target
// parameters or the reference, before a request is logged.
func (s *Server) apiDuplicates(c *gin.Context) {
	targets := c.QueryArray("target")
	if len(targets) > 100 {
		s.apiError(c, cases.Invalid(map[string]string{"target": "at most 100 targets"}))
		return
	}
	rel, err := s.DB.Duplicates(c.Request.Context(), targets, c.Query("reference"), 0)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"related": rel})
}

// intakeDuplicates are the cases already naming a target or the reference
// of a request being logged.
func (s *Server) intakeDuplicates(c *gin.Context, req *cases.Request) ([]store.Related, error) {
	var targets []string
	for _, t := range req.Targets {
		targets = append(targets, t.Value)
	}
	return s.DB.Duplicates(c.Request.Context(), targets, req.Process.Reference, 0)
}
