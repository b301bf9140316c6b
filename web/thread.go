package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/mail"
	"envelope/cases/store"
	"envelope/web/agency"
)

// The legal team's side of a case's thread with the agency (issue 14):
// on the case page and in the API. The officers' side is web/agency.

func (s *Server) threadAPIRoutes(api *gin.RouterGroup) {
	api.GET("/cases/:id/messages", s.bearer(anyReader), s.apiThread)
	api.POST("/cases/:id/messages", s.bearer(caseLogger), s.apiPostMessage)
	api.GET("/cases/:id/messages/files/:file", s.bearer(anyReader), s.threadFile(s.apiError))
}

func (s *Server) threadPortalRoutes(p *gin.RouterGroup) {
	p.POST("/cases/:id/messages", s.signedIn(caseLogger), s.messageSubmit)
	p.GET("/cases/:id/messages/files/:file", s.signedIn(anyReader), s.threadFile(s.portalFail))
	p.POST("/admin/agencies/:id/suspend", s.signedIn(admins), s.agencySuspendSubmit(true))
	p.POST("/admin/agencies/:id/reinstate", s.signedIn(admins), s.agencySuspendSubmit(false))
}

func init() {
	auditLabels["case.message"] = "Message in the thread with the agency"
	auditLabels["package.announce"] = "Agency told the package is ready"
	auditLabels["package.download"] = "Package downloaded by the agency"
	auditLabels["package.acknowledge"] = "Receipt acknowledged by the agency"
	flashes["message"] = "Message sent to the agency."
	flashes["agency-suspended"] = "Agency suspended on the agency portal: its officers' sessions have ended."
	flashes["agency-reinstated"] = "Agency reinstated on the agency portal."
	auditLabels["agency.suspend"], auditLabels["agency.reinstate"] = "Agency suspended on the portal", "Agency reinstated on the portal"
}

// threadData is what the case page shows of the thread: nothing for a
// case not submitted through the agency portal.
type threadData struct {
	Agency   bool
	Messages []*cases.Message
}

func (s *Server) loadThread(ctx context.Context, caseID int64) (*threadData, error) {
	ok, err := s.DB.AgencyCase(ctx, caseID)
	if err != nil || !ok {
		return &threadData{}, err
	}
	list, err := s.DB.Thread(ctx, caseID)
	return &threadData{Agency: true, Messages: list}, err
}

func (s *Server) apiThread(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	t, err := s.loadThread(c.Request.Context(), kase.ID)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agency": t.Agency, "messages": t.Messages})
}

// apiPostMessage takes {"body", "kind"} as JSON, or a multipart form with
// body, kind and the PDFs as attachment parts.
func (s *Server) apiPostMessage(c *gin.Context) {
	var body struct {
		Body string `json:"body"`
		Kind string `json:"kind"`
	}
	var files []cases.Upload
	var err error
	if strings.HasPrefix(c.ContentType(), "multipart/") {
		limitThreadUpload(c)
		if files, err = agency.ReadUploads(c.Request, "attachment"); err == nil {
			body.Body, body.Kind = c.PostForm("body"), c.PostForm("kind")
		}
	} else {
		err = bindJSON(c, &body)
	}
	var m *cases.Message
	if err == nil {
		m, err = s.DB.PostMessage(c.Request.Context(), store.Poster{Staff: currentUser(c)}, c.Param("id"), body.Kind, body.Body, files, s.threadMail(c.Request.Context()))
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}

func limitThreadUpload(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, cases.MaxMessageFiles*cases.MaxDocumentSize+1<<20)
}

// messageSubmit posts the case page's thread form; the button pressed is
// the kind (a plain message, or a clarification request).
func (s *Server) messageSubmit(c *gin.Context) {
	limitThreadUpload(c)
	files, err := agency.ReadUploads(c.Request, "attachment")
	var m *cases.Message
	if err == nil {
		m, err = s.DB.PostMessage(c.Request.Context(), store.Poster{Staff: currentUser(c)}, c.Param("id"), c.PostForm("kind"), c.PostForm("body"), files, s.threadMail(c.Request.Context()))
	}
	if err != nil {
		s.caseFormError(c, err, "")
		return
	}
	done := "message"
	if m.Kind == cases.MessageClarificationRequest {
		done = "clarification-requested"
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=%s#thread", m.CaseID, done))
}

func (s *Server) threadFile(fail func(*gin.Context, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
		if err != nil {
			fail(c, err)
			return
		}
		id, _ := strconv.ParseInt(c.Param("file"), 10, 64)
		f, r, err := s.DB.OpenMessageFile(c.Request.Context(), kase.ID, id)
		if err != nil {
			fail(c, err)
			return
		}
		sendDocument(c, &cases.Document{Filename: f.Filename, Size: f.Size, SHA256: f.SHA256}, r)
	}
}

// threadMail is the hook that queues, in a message's transaction, the mail
// telling the other side: the case's officers for a staff message, the
// legal team for an agency one. The mail says only that there is a
// message, with a link to sign in: nothing of the case.
func (s *Server) threadMail(ctx context.Context) store.MessageHook {
	return func(tx *sqlx.Tx, k *cases.Case, m *cases.Message) error {
		tmpl, path := mail.TmplAgencyMessage, fmt.Sprintf("/agency/cases/%d#thread", k.ID)
		var to []string
		var err error
		if m.Side == cases.SideStaff {
			to, err = s.DB.AgencyRecipients(ctx, tx, k.ID)
		} else {
			tmpl, path = mail.TmplStaffMessage, fmt.Sprintf("/cases/%d#thread", k.ID)
			to, err = s.legalTeam(ctx, k)
		}
		if err != nil {
			return err
		}
		return s.queueEach(ctx, tx, to, tmpl, "thread", k.ID, path)
	}
}

// legalTeam is who is told of an agency's message: the case's assignee,
// or else the organisation's contact address, if it has one.
func (s *Server) legalTeam(ctx context.Context, k *cases.Case) ([]string, error) {
	if k.Assignee != "" {
		return []string{k.Assignee}, nil
	}
	org, ok, err := s.DB.Org(ctx)
	if err != nil || !ok || org.ContactEmail == "" {
		return nil, err
	}
	return []string{org.ContactEmail}, nil
}

// queueEach queues template tmpl to each address in tx, with a link to
// path. Without a mailer (a server not started by serve) it logs instead.
func (s *Server) queueEach(ctx context.Context, tx *sqlx.Tx, to []string, tmpl, kind string, caseID int64, path string) error {
	for _, addr := range to {
		if s.Mail == nil {
			// Only a server not started by serve has no mailer; the
			// request's ID is not at hand in a store hook.
			s.Logger.Info("agency portal mail (no mailer)", "id", "", "to", addr, "template", tmpl, "path", path)
			continue
		}
		if _, err := s.Mail.Queue(ctx, tx, addr, tmpl, kind, &caseID, mail.Data{Link: s.Mail.Link(path)}); err != nil {
			return err
		}
	}
	return nil
}

// askInThread asks the agency of case k for clarification as a message of
// its thread, and answers the case as it is after.
func (s *Server) askInThread(c *gin.Context, u *cases.User, k *cases.Case, question string) (*cases.Case, error) {
	ctx := c.Request.Context()
	if _, err := s.DB.PostMessage(ctx, store.Poster{Staff: u}, strconv.FormatInt(k.ID, 10), cases.MessageClarificationRequest, question, nil, s.threadMail(ctx)); err != nil {
		if fields := cases.ErrorFields(err); fields["body"] != "" {
			return nil, cases.Invalid(map[string]string{"question": fields["body"]})
		}
		return nil, err
	}
	return s.DB.Case(ctx, strconv.FormatInt(k.ID, 10))
}
