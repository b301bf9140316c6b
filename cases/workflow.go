package cases

import "strings"

// Ties are the accounts that are not independent of one person, by
// lower-cased email, each with how: accounts that person controls
// (created, re-enabled, changed the role of, reset the password of), directly
// or through accounts it controls, and the accounts that control that
// person. A second account is not a second pair of eyes.
type Ties map[string]string

// Of says how the account email is tied to the person, or "".
func (t Ties) Of(email string) string { return t[strings.ToLower(email)] }

// CheckReview says whether actor may give verdict (StatusApproved or
// StatusRejected) on case c with the given note. It enforces the four-eyes
// rule: the reviewer is never the person who logged the case; ties are the
// actor's (the store refuses a logger among them), which CheckVerified
// needs too.
func CheckReview(actor *User, c *Case, verdict Status, note string, ties Ties) error {
	switch {
	case actor == nil || actor.Disabled:
		return Errorf(EUNAUTHORIZED, "sign in first")
	case actor.Role != RoleReviewer && actor.Role != RoleSupervisor:
		return Errorf(EFORBIDDEN, "only a reviewer or a supervisor may approve or reject a case")
	case strings.EqualFold(actor.Email, c.CreatedBy):
		return Errorf(EFORBIDDEN, "four eyes: %s logged case %s and cannot also decide it", actor.Email, c.Number)
	case c.Process.Type == Emergency && actor.Role != RoleSupervisor:
		return Errorf(EFORBIDDEN, "an emergency request needs a supervisor's sign-off")
	case c.Status != StatusReceived:
		return Errorf(ECONFLICT, "case %s is %s; only a received case can be approved or rejected", c.Number, c.Status)
	}
	if verdict != StatusApproved {
		return nil
	}
	switch {
	case c.Decision == nil:
		return Errorf(ECONFLICT, "case %s has no policy decision", c.Number)
	case c.Decision.Outcome == OutcomeReject:
		return Errorf(ECONFLICT, "case %s cannot be approved: the policy decision is reject", c.Number)
	case c.Decision.Outcome == OutcomeNeedsReview && strings.TrimSpace(note) == "":
		return Invalid(map[string]string{"note": "the decision needs review: say why you approve it"})
	}
	return CheckVerified(c, actor.Email, ties)
}
