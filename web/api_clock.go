package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/policy/clock"
)

// The clock rules through the JSON API, as the policy's (api_policy.go):
// GET /api/v1/clock shows the rules in force (?format=yaml: the file);
// PUT /api/v1/clock with a clock file puts it in force, for this server
// and after restarts, audited as clock.activate. A file that does not load
// is a 400 naming the line and field of each problem, and nothing changes.
func (s *Server) clockAPIRoutes(api *gin.RouterGroup) {
	api.GET("/clock", s.bearer(anyReader), s.getClockRules)
	api.PUT("/clock", s.bearer(admins), s.activateClockRules)
}

func (s *Server) getClockRules(c *gin.Context) {
	k := s.Clocks()
	if c.Query("format") == "yaml" {
		c.Data(http.StatusOK, "application/yaml; charset=utf-8", k.Source())
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": k.Version(), "source": string(k.Source())})
}

// readClockRules loads the clock file in the body. A refusal names
// "clock" with the loader's whole message and each problem by its path
// (e.g. "rules[1].period": "line 58: … is negative").
func readClockRules(c *gin.Context) (*clock.Clocks, error) {
	body, err := readBody(c, MaxBodySize)
	if err != nil {
		return nil, err
	}
	k, err := clock.Load(body)
	if err != nil {
		fields := map[string]string{"clock": err.Error()}
		var le *clock.LoadError
		if errors.As(err, &le) {
			for _, p := range le.Problems {
				if p.Path != "" {
					fields[p.Path] = p.String()
				}
			}
		}
		return nil, cases.Invalid(fields)
	}
	return k, nil
}

// putClocksInForce records and audits k in the database, then swaps it in
// for intake, clock events and export. It returns the version it replaced.
func (s *Server) putClocksInForce(ctx context.Context, actor string, k *clock.Clocks) (previous string, err error) {
	old := s.Clocks()
	if err := s.DB.ActivateClockRules(ctx, actor, k.Version(), k.Source(), old.Version()); err != nil {
		return "", err
	}
	s.SetClocks(k)
	return old.Version(), nil
}

// moveOpenDueDates recomputes the due dates of the open cases under the
// clock rules just put in force, so lists, panels and reminders follow the
// new rules at once. The rules are in force whatever it returns; a failure
// part-way leaves the remaining cases to move at their next clock event,
// and is logged and answered, not hidden.
func (s *Server) moveOpenDueDates(c *gin.Context, actor string, old, now *clock.Clocks) gin.H {
	moved, err := s.DB.RecomputeOpenDue(c.Request.Context(), actor, s.movedDue(old, now))
	out := gin.H{"due_dates_moved": moved}
	if err != nil {
		s.Logger.Error("recompute due dates after activating clock rules", "id", c.GetString("request_id"), "err", err)
		out["due_dates_error"] = err.Error()
	}
	return out
}

func (s *Server) activateClockRules(c *gin.Context) {
	k, err := readClockRules(c)
	if err != nil {
		s.apiError(c, err)
		return
	}
	old := s.Clocks()
	previous, err := s.putClocksInForce(c.Request.Context(), currentUser(c).Email, k)
	if err != nil {
		s.apiError(c, err)
		return
	}
	out := s.moveOpenDueDates(c, currentUser(c).Email, old, k)
	out["version"], out["previous_version"] = k.Version(), previous
	c.JSON(http.StatusOK, out)
}
