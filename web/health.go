package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// readyTimeout bounds /readyz's database checks: a load balancer's probe
// must get an answer, and a database that slow is not ready anyway.
const readyTimeout = 2 * time.Second

// healthRoutes: /healthz says the process is up and answering (a restart
// is the cure if not); /readyz says it can serve: the database answers and
// has exactly this build's migrations (take it out of the load balancer if
// not). Neither needs a sign-in nor says more than ok or what is wrong.
func (s *Server) healthRoutes() {
	s.engine.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	s.engine.GET("/readyz", s.readyz)
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	if err := s.DB.Reader().PingContext(ctx); err != nil {
		s.Logger.Warn("not ready: the database does not answer", "id", c.GetString("request_id"), "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": "does not answer"})
		return
	}
	m, err := s.DB.Migrations(ctx)
	if err != nil {
		s.Logger.Warn("not ready: cannot read the migrations", "id", c.GetString("request_id"), "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": "migrations cannot be read"})
		return
	}
	if !m.Current() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": "schema is not this build's",
			"version": m.Version, "latest": m.Latest, "pending": m.Pending, "unknown": m.Unknown})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": m.Version})
}
