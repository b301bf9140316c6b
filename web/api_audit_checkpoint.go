package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"envelope/cases/auditlog"
)

// auditProofRoutes serves the audit log's signed checkpoint to auditors
// (shared/spec/interfaces.md, "Trust and proof"): a C2SP signed note they
// keep, and later check the log against with envelope audit verify
// --checkpoint.
func (s *Server) auditProofRoutes(api *gin.RouterGroup) {
	api.GET("/audit/checkpoint", s.bearer(auditors), s.auditCheckpoint)
}

func (s *Server) auditCheckpoint(c *gin.Context) {
	// The audit key lives in the keys folder beside the signing key; the
	// exporter loaded (or made) both.
	exp, err := s.exporter()
	if err != nil {
		s.apiError(c, err)
		return
	}
	cp, _, err := auditlog.Checkpoint(c.Request.Context(), s.DB, exp.Builder.Prover.Key)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", cp)
}
