package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"envelope/exporter"
	"envelope/exporter/letters"
)

// The case page's letters: produce one (the roles that work cases) and
// download it (every reader), as the API does.

// portalLetterRoutes registers the case page's letter form and downloads.
func (s *Server) portalLetterRoutes(p *gin.RouterGroup) {
	p.POST("/cases/:id/letters", s.signedIn(caseLogger), s.letterSubmit)
	p.GET("/cases/:id/letters/:file", s.signedIn(anyReader), s.letterDownload)
}

// letterSubmit produces the letter chosen on the form; the questions of a
// clarification request are one a line.
func (s *Server) letterSubmit(c *gin.Context) {
	exp, err := s.exporter()
	if err != nil {
		s.portalFail(c, err)
		return
	}
	var qs []string
	for _, q := range strings.Split(c.PostForm("questions"), "\n") {
		if q = strings.TrimSpace(q); q != "" {
			qs = append(qs, q)
		}
	}
	l, err := exp.Letter(c.Request.Context(), currentUser(c).Email, c.Param("id"), letters.Kind(c.PostForm("kind")), exporter.LetterOptions{Questions: qs})
	if err != nil {
		s.caseFormError(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d?done=letter#letters", l.CaseID))
}

func (s *Server) letterDownload(c *gin.Context) { s.sendLetter(c, s.portalFail) }
