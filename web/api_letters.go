package web

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/exporter"
	"envelope/exporter/letters"
)

// letterRoutes serve a case's letters (exporter/letters): producing one is
// for the roles that work cases; every reader may list and download them.
func (s *Server) letterRoutes(api *gin.RouterGroup) {
	api.POST("/cases/:id/letters", s.bearer(caseLogger), s.createLetter)
	api.GET("/cases/:id/letters", s.bearer(anyReader), s.listLetters)
	api.GET("/cases/:id/letters/:file", s.bearer(anyReader), s.downloadLetter)
}

type letterAnswer struct {
	*exporter.Letter
	URL string `json:"url"`
}

func letterURL(l *exporter.Letter) letterAnswer {
	return letterAnswer{Letter: l, URL: fmt.Sprintf("/api/v1/cases/%d/letters/%s", l.CaseID, l.FileName)}
}

// createLetter produces a letter: {"kind": "...", "questions": [...]}.
func (s *Server) createLetter(c *gin.Context) {
	var body struct {
		Kind      letters.Kind `json:"kind"`
		Questions []string     `json:"questions"`
	}
	raw, err := c.GetRawData()
	if err == nil {
		err = cases.DecodeStrict(raw, &body)
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	exp, err := s.exporter()
	if err != nil {
		s.apiError(c, err)
		return
	}
	l, err := exp.Letter(c.Request.Context(), currentUser(c).Email, c.Param("id"), body.Kind, exporter.LetterOptions{Questions: body.Questions})
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusCreated, letterURL(l))
}

func (s *Server) listLetters(c *gin.Context) {
	exp, err := s.exporter()
	if err != nil {
		s.apiError(c, err)
		return
	}
	list, err := exp.Letters(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	out := make([]letterAnswer, 0, len(list))
	for _, l := range list {
		out = append(out, letterURL(l))
	}
	c.JSON(http.StatusOK, gin.H{"letters": out})
}

func (s *Server) downloadLetter(c *gin.Context) { s.sendLetter(c, s.apiError) }

// sendLetter serves the letter named in the path, by a name from the
// letters table only; fail answers errors the caller's way.
func (s *Server) sendLetter(c *gin.Context, fail func(*gin.Context, error)) {
	exp, err := s.exporter()
	if err != nil {
		fail(c, err)
		return
	}
	l, f, err := exp.OpenLetter(c.Request.Context(), c.Param("id"), c.Param("file"))
	if err != nil {
		fail(c, err)
		return
	}
	defer f.Close()
	c.Header("X-Package-SHA256", l.SHA256)
	c.DataFromReader(http.StatusOK, l.Size, "application/zip", f, map[string]string{
		"Content-Disposition": fmt.Sprintf(`attachment; filename="%s"`, l.FileName),
	})
}
