package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"envelope/cases"
)

// identity is what the case page says about who is asking: the
// directory's match of the agency, the warnings in plain words, and the
// callbacks recorded (docs/security.md).
type identity struct {
	Match    *cases.AgencyMatch
	Warnings []string
	Needs    string // why a callback is needed before approval, "" if not
	Verified bool   // someone recorded a confirmed callback
	Failed   *cases.Verification
	List     []cases.Verification
}

func caseIdentity(c *cases.Case) *identity {
	id := &identity{Match: c.AgencyMatch, Needs: cases.NeedsCallback(c), Failed: cases.FailedVerification(c), List: c.Verifications}
	for _, v := range c.Verifications {
		id.Verified = id.Verified || v.Outcome == cases.VerifyConfirmed
	}
	id.Warnings = identityWarnings(c, id)
	return id
}

// identityWarnings says in plain words what is doubtful about who sent a
// case; the dashboard and the case page show the same sentences.
func identityWarnings(c *cases.Case, id *identity) []string {
	var w []string
	if id.Failed != nil {
		w = append(w, fmt.Sprintf("Callback failed: %s called %s and the agency did not confirm this request. Do not disclose anything; it can only be rejected.", id.Failed.RecordedBy, id.Failed.Phone))
	}
	if m := id.Match; m != nil {
		switch m.Kind {
		case cases.AgencyUnknown:
			w = append(w, fmt.Sprintf("Unknown agency: “%s” (%s) is not in the agency directory. Nothing in the request (its domains, its phone number) can be trusted.", c.Agency.Name, c.Agency.Country))
		case cases.AgencyLookalike:
			w = append(w, fmt.Sprintf("Look-alike agency: “%s” is not %s (%s), although it %s. Forged requests use names like this.", c.Agency.Name, m.Name, m.Country, lookalikeWhy(m)))
		}
	}
	for _, r := range cases.IdentityDoubts(c) {
		if r == cases.RuleRequester {
			w = append(w, fmt.Sprintf("The requester’s email %s is not on a domain the directory lists for this agency.", orDash(c.Requester.Email)))
		}
	}
	if c.Process.Type == cases.Emergency && !id.Verified && id.Failed == nil {
		w = append(w, "Unverified emergency: no one has confirmed it yet by calling the agency back on the directory’s number.")
	}
	return w
}

func lookalikeWhy(m *cases.AgencyMatch) string {
	if strings.Contains(m.Reason, "says it is in") {
		return "has its name but gives another country"
	}
	return "looks like it"
}

func orDash(s string) string {
	if s == "" {
		return "(none given)"
	}
	return s
}

// caseVerify records a callback from the case page.
func (s *Server) caseVerify(c *gin.Context) {
	v := cases.Verification{Method: cases.VerifyCallback, Phone: c.PostForm("phone"), Outcome: c.PostForm("outcome"), Note: c.PostForm("note")}
	if _, err := s.DB.RecordVerification(c.Request.Context(), currentUser(c), c.Param("id"), v); err != nil {
		s.caseFormError(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, "/cases/"+c.Param("id")+"?done=verified#identity")
}

// unverifiedRow is a dashboard row of a case waiting for a callback, with
// why in plain words.
type unverifiedRow struct {
	ID                          int64
	Number, AgencyName, Country string
	Why                         []string
}

func (s *Server) unverifiedRows(c *gin.Context) ([]unverifiedRow, error) {
	list, err := s.DB.ListUnverified(c.Request.Context(), panelRowsXL)
	if err != nil {
		return nil, err
	}
	rows := make([]unverifiedRow, len(list))
	for i, u := range list {
		r := unverifiedRow{ID: u.ID, Number: u.Number, AgencyName: u.AgencyName, Country: u.Country}
		if u.Failed {
			r.Why = append(r.Why, "callback failed")
		}
		for _, d := range u.Doubts {
			r.Why = append(r.Why, map[string]string{cases.RuleAgencyUnknown: "unknown agency",
				cases.RuleAgencyLookalike: "look-alike agency", cases.RuleRequester: "email not on the agency’s domains"}[d])
		}
		if u.Emergency && !u.Failed {
			r.Why = append(r.Why, "unverified emergency")
		}
		rows[i] = r
	}
	return rows, nil
}
