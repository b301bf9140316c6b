package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"envelope/cases/store"
)

// StatusClientClosed is the status logged for a request its client gave
// up on (nginx's 499): nothing is sent, and it is no server error.
const StatusClientClosed = 499

// clientGone reports whether err is the request's own context ending
// because its client went away (or its deadline passed), rather than a
// failure of ours. Such a request is logged as cancelled, not as a 500
// "internal error" with an ERROR line for someone to chase.
func clientGone(c *gin.Context, err error) bool {
	if c.Request.Context().Err() == nil {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// cancelled records a request its client gave up on.
func (s *Server) cancelled(c *gin.Context, err error) {
	s.Logger.Info("request cancelled by its client", "id", c.GetString("request_id"), "path", c.Request.URL.Path, "err", err)
	c.AbortWithStatus(StatusClientClosed)
}

// contended reports whether err is PostgreSQL aborting a transaction for a
// deadlock or a serialization failure that store.DB.Tx already retried as
// often as it will. That is a busy database, not a bug: the client is told
// to try again (503 with Retry-After), and no "internal error" is logged.
func (s *Server) contended(c *gin.Context, err error) bool {
	if !store.Retryable(err) {
		return false
	}
	s.Logger.Warn("transaction still aborted after its retries", "id", c.GetString("request_id"), "err", err)
	c.Header("Retry-After", "1")
	c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "the database is busy; try again in a second"})
	return true
}
