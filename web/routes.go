package web

import (
	"github.com/gin-gonic/gin"

	"envelope/cases"
)

// routes registers every route. Each API route names the roles it allows;
// a test walks this table to check that none is left open.
func (s *Server) routes() {
	s.healthRoutes()
	s.engine.GET("/metrics", s.metrics.handler())

	// JSON is never to be sniffed as anything else by a browser.
	api := s.engine.Group("/api/v1", func(c *gin.Context) { c.Header("X-Content-Type-Options", "nosniff") }, s.apiThrottle())
	api.GET("/me", s.bearer(func(*cases.User) bool { return true }), s.me)

	api.POST("/cases", s.bearer(caseLogger), s.createCase)
	api.GET("/cases", s.bearer(anyReader), s.listCases)
	api.GET("/cases/:id", s.bearer(anyReader), s.getCase)
	api.GET("/cases/:id/decision", s.bearer(anyReader), s.getDecision)
	api.GET("/cases/:id/events", s.bearer(anyReader), s.caseEvents)
	api.POST("/cases/:id/approve", s.bearer(reviewers), s.approveCase)
	api.POST("/cases/:id/reject", s.bearer(reviewers), s.rejectCase)
	api.POST("/cases/:id/close", s.bearer(caseLogger), s.closeCase)
	api.POST("/cases/:id/notes", s.bearer(caseLogger), s.addNote)
	api.POST("/cases/:id/assign", s.bearer(caseLogger), s.assignCase)
	api.PUT("/cases/:id/document", s.bearer(caseLogger), s.uploadDocument)
	api.GET("/cases/:id/document", s.bearer(anyReader), s.downloadDocument)

	api.POST("/policy/check", s.bearer(anyReader), s.checkPolicy)
	api.GET("/policy", s.bearer(anyReader), s.getPolicy)
	api.POST("/policy/replay", s.bearer(admins), s.replayPolicy)
	api.PUT("/policy", s.bearer(admins), s.activatePolicy)

	api.GET("/audit/verify", s.bearer(auditors), s.verifyAudit)

	// feature routes
	s.collectRoutes(api)
	s.portalRoutes()
	s.reportRoutes(api)
	s.exportRoutes(api)
	s.holdRoutes(api)
	s.auditProofRoutes(api)
	s.letterRoutes(api)
	s.agencyRoutes(api)
	s.settingsRoutes(api)
	s.clockRoutes(api)
	s.clockAPIRoutes(api)
	s.userZoneRoutes(api)
	s.caseworkRoutes(api)
	s.agencyPortalRoutes(api)
}
