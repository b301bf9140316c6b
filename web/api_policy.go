package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/policy"
)

// checkPolicy decides a request without logging it: the intake form's
// preview and integrations' dry runs. ?at= sets the decision time.
func (s *Server) checkPolicy(c *gin.Context) {
	at := s.Now()
	if v := c.Query("at"); v != "" {
		t, err := cases.ParseTime(v)
		if err != nil {
			s.apiError(c, cases.Invalid(map[string]string{"at": err.Error()}))
			return
		}
		at = t
	}
	req, err := readRequest(c)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, s.Policy().Decide(req, at))
}

func (s *Server) getPolicy(c *gin.Context) {
	p := s.Policy()
	if c.Query("format") == "yaml" {
		c.Data(http.StatusOK, "application/yaml; charset=utf-8", p.Source())
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": p.Version(), "source": string(p.Source())})
}

// replayPolicy re-decides stored cases under the policy file in the body and
// answers what would change, so a policy change is reviewed before it ships.
// It changes nothing.
func (s *Server) replayPolicy(c *gin.Context) {
	body, err := readBody(c, MaxBodySize)
	if err != nil {
		s.apiError(c, err)
		return
	}
	p, err := policy.Load(body)
	if err != nil {
		s.apiError(c, cases.Invalid(map[string]string{"policy": err.Error()}))
		return
	}
	var from, to *time.Time
	bad := map[string]string{}
	for name, dst := range map[string]**time.Time{"from": &from, "to": &to} {
		if v := c.Query(name); v != "" {
			t, err := cases.ParseTime(v)
			if err != nil {
				bad[name] = err.Error()
			}
			*dst = &t
		}
	}
	if len(bad) > 0 {
		s.apiError(c, cases.Invalid(bad))
		return
	}
	report, err := policy.Replay(p, s.eachCase(c.Request.Context(), from, to))
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, report)
}

func (s *Server) eachCase(ctx context.Context, from, to *time.Time) func(func(*cases.Case) error) error {
	return func(fn func(*cases.Case) error) error { return s.DB.EachCase(ctx, from, to, fn) }
}

// activatePolicy puts the policy file in the body in force, for this
// server and after restarts. A file that does not load is refused and the
// running policy stays in place.
func (s *Server) activatePolicy(c *gin.Context) {
	body, err := readBody(c, MaxBodySize)
	if err != nil {
		s.apiError(c, err)
		return
	}
	p, err := policy.Load(body)
	if err != nil {
		s.apiError(c, cases.Invalid(map[string]string{"policy": err.Error()}))
		return
	}
	old := s.Policy()
	if err := s.DB.ActivatePolicy(c.Request.Context(), currentUser(c).Email, p.Version(), p.Source(), old.Version()); err != nil {
		s.apiError(c, err)
		return
	}
	s.SetPolicy(p)
	c.JSON(http.StatusOK, gin.H{"version": p.Version(), "previous_version": old.Version()})
}

// ActivePolicy returns the policy a server should start with: the one
// activated last through the API, or the embedded default.
func ActivePolicy(ctx context.Context, db *store.DB) (*policy.Policy, error) {
	src, ok, err := db.ActivePolicy(ctx)
	if err != nil || !ok {
		return policy.Default(), err
	}
	return policy.Load(src)
}

func (s *Server) verifyAudit(c *gin.Context) {
	n, err := s.DB.VerifyAudit(c.Request.Context())
	var tamper *cases.TamperError
	if errors.As(err, &tamper) {
		c.JSON(http.StatusOK, gin.H{"ok": false, "events": n, "first_bad_event": tamper.Seq, "problem": tamper.Problem})
		return
	} else if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ok": true, "events": n})
}
