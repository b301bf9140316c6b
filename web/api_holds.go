package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/retention"
	"envelope/cases/store"
)

// holdRoutes serves legal holds (docs/retention.md). Placing and releasing
// one is for reviewers, supervisors and admins; every reader may list them.
func (s *Server) holdRoutes(api *gin.RouterGroup) {
	api.POST("/cases/:id/hold", s.bearer(retention.CanHold), s.changeHold(http.StatusCreated, retention.PlaceHold))
	api.DELETE("/cases/:id/hold", s.bearer(retention.CanHold), s.changeHold(http.StatusOK, retention.ReleaseHold))
	api.GET("/holds", s.bearer(anyReader), s.listHolds)
}

// changeHold reads {"reason"} (an empty body gives "reason: is required")
// and places or releases the hold of the case in the path.
func (s *Server) changeHold(status int, change func(context.Context, *store.DB, *cases.User, string, string) (*retention.Hold, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body struct {
			Reason string `json:"reason"`
		}
		if err := bindOptionalJSON(c, &body); err != nil {
			s.apiError(c, err)
			return
		}
		h, err := change(c.Request.Context(), s.DB, currentUser(c), c.Param("id"), body.Reason)
		if err != nil {
			s.apiError(c, err)
			return
		}
		c.JSON(status, h)
	}
}

// listHolds lists the active holds; ?all=true adds the released ones.
func (s *Server) listHolds(c *gin.Context) {
	all := false
	if v := c.Query("all"); v != "" {
		var err error
		if all, err = strconv.ParseBool(v); err != nil {
			s.apiError(c, cases.Invalid(map[string]string{"all": "must be true or false"}))
			return
		}
	}
	holds, err := retention.Holds(c.Request.Context(), s.DB, all)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"holds": holds})
}
