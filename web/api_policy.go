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
	req, err := s.readRequest(c)
	if err != nil {
		s.apiError(c, err)
		return
	}
	dec, err := s.decide(c, req, at)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, dec)
}

func (s *Server) getPolicy(c *gin.Context) {
	p := s.Policy()
	if c.Query("format") == "yaml" {
		c.Data(http.StatusOK, "application/yaml; charset=utf-8", p.Source())
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": p.Version(), "source": string(p.Source())})
}

// readPolicy loads the policy file in the body; one that does not load is
// an input error naming "policy" with the loader's message.
func readPolicy(c *gin.Context) (*policy.Policy, error) {
	body, err := readBody(c, MaxBodySize)
	if err != nil {
		return nil, err
	}
	p, err := policy.Load(body)
	if err != nil {
		return nil, cases.Invalid(map[string]string{"policy": err.Error()})
	}
	return p, nil
}

// replayPolicy re-decides stored cases under the policy file in the body and
// answers what would change, so a policy change is reviewed before it ships.
// It changes nothing.
func (s *Server) replayPolicy(c *gin.Context) {
	p, err := readPolicy(c)
	if err != nil {
		s.apiError(c, err)
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
	report, err := s.replayPolicyOn(c.Request.Context(), p, from, to)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, report)
}

func (s *Server) eachCase(ctx context.Context, from, to *time.Time) func(func(*cases.Case) error) error {
	return func(fn func(*cases.Case) error) error { return s.DB.EachCase(ctx, from, to, fn) }
}

// replayPolicyOn re-decides the stored cases received in [from, to) (nil:
// unbounded) under p and reports what would change; it changes nothing.
// The API's replay and the portal's policy page share it.
func (s *Server) replayPolicyOn(ctx context.Context, p *policy.Policy, from, to *time.Time) (*policy.ReplayReport, error) {
	return policy.Replay(p, s.eachCase(ctx, from, to))
}

// putPolicyInForce makes a loaded policy the one in force: recorded and
// audited in the database (so it survives restarts), then swapped in for
// new requests. It returns the version it replaced. The API's PUT and the
// portal's "Activate" share it.
func (s *Server) putPolicyInForce(ctx context.Context, actor string, p *policy.Policy) (previous string, err error) {
	old := s.Policy()
	if err := s.DB.ActivatePolicy(ctx, actor, p.Version(), p.Source(), old.Version()); err != nil {
		return "", err
	}
	s.SetPolicy(p)
	return old.Version(), nil
}

// activatePolicy puts the policy file in the body in force, for this
// server and after restarts. A file that does not load is refused and the
// running policy stays in place.
func (s *Server) activatePolicy(c *gin.Context) {
	p, err := readPolicy(c)
	if err != nil {
		s.apiError(c, err)
		return
	}
	previous, err := s.putPolicyInForce(c.Request.Context(), currentUser(c).Email, p)
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": p.Version(), "previous_version": previous})
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
