package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
)

// A case's other documents (issue 16): amendments, extensions,
// correspondence, and the process documents a new upload superseded.

func (s *Server) attachmentAPIRoutes(api *gin.RouterGroup) {
	api.GET("/cases/:id/attachments", s.bearer(anyReader), s.apiAttachments)
	api.POST("/cases/:id/attachments", s.bearer(caseLogger), s.apiAddAttachment)
	api.GET("/cases/:id/attachments/:att", s.bearer(anyReader), s.attachmentDownload(s.apiError))
}

func (s *Server) attachmentPortalRoutes(p *gin.RouterGroup) {
	p.POST("/cases/:id/attachments", s.signedIn(caseLogger), s.attachmentSubmit)
	p.GET("/cases/:id/attachments/:att", s.signedIn(anyReader), s.attachmentDownload(s.portalFail))
}

func init() {
	auditLabels["case.attachment"] = "Document added"
	auditLabels["amendment"], auditLabels["extension"], auditLabels["correspondence"], auditLabels["process"] = "Amendment", "Extension", "Correspondence", "Legal process"
	flashes["attachment"] = "Document added."
}

func (s *Server) apiAttachments(c *gin.Context) {
	kase, err := s.DB.Case(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	list, err := s.DB.Attachments(c.Request.Context(), kase.ID)
	if err != nil {
		s.apiError(c, err)
		return
	}
	if list == nil {
		list = []store.Attachment{}
	}
	c.JSON(http.StatusOK, gin.H{"attachments": list})
}

// apiAddAttachment takes the PDF as the raw body, with ?kind= and
// ?filename=.
func (s *Server) apiAddAttachment(c *gin.Context) {
	b, err := readBody(c, cases.MaxDocumentSize+1)
	if err == nil {
		var a *store.Attachment
		if a, err = s.DB.AddAttachment(c.Request.Context(), currentUser(c), c.Param("id"), c.Query("kind"), c.Query("filename"), b); err == nil {
			c.JSON(http.StatusCreated, a)
			return
		}
	}
	s.apiError(c, err)
}

func (s *Server) attachmentSubmit(c *gin.Context) {
	limitUpload(c)
	name, content, err := formFile(c, "attachment")
	if err == nil && content == nil {
		err = cases.Invalid(map[string]string{"attachment": "choose a PDF file"})
	}
	var a *store.Attachment
	if err == nil {
		a, err = s.DB.AddAttachment(c.Request.Context(), currentUser(c), c.Param("id"), c.PostForm("kind"), name, content)
	}
	if err != nil {
		s.caseFormError(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=attachment#documents", a.CaseID))
}

func (s *Server) attachmentDownload(fail func(*gin.Context, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, _ := strconv.ParseInt(c.Param("att"), 10, 64)
		a, r, err := s.DB.OpenAttachment(c.Request.Context(), c.Param("id"), id)
		if err != nil {
			fail(c, err)
			return
		}
		sendDocument(c, &cases.Document{Filename: a.Filename, Size: a.Size, SHA256: a.SHA256, UploadedBy: a.UploadedBy, UploadedAt: a.UploadedAt}, r)
	}
}
