package cases

import (
	"strings"
	"time"
)

// Match kinds: how the agency a request names relates to the directory.
const (
	AgencyKnown     = "known"     // it is a directory entry (by name or alias, in its country)
	AgencyLookalike = "lookalike" // it looks like an entry but is not it
	AgencyUnknown   = "unknown"   // the directory does not know it
)

// AgencyMatch is what the agency directory says of a request's agency. The
// store resolves it (cases/agencymatch) and the policy engine reads it as a
// fact: the engine never looks at the directory itself, and never trusts
// the domains a request claims when a match is given.
type AgencyMatch struct {
	Kind     string `json:"kind"`
	AgencyID int64  `json:"agency_id,omitempty"` // the entry it is, or resembles
	Name     string `json:"name,omitempty"`      // the entry's name
	Country  string `json:"country,omitempty"`
	// Domains and Phone are the entry's (known only): the email domains its
	// officers write from and the number a callback must go to.
	Domains []string `json:"domains,omitempty"`
	Phone   string   `json:"phone,omitempty"`
	Reason  string   `json:"reason,omitempty"` // why it is a look-alike
}

// Verification methods and outcomes.
const (
	VerifyCallback  = "callback"
	VerifyConfirmed = "confirmed"
	VerifyFailed    = "failed"
)

// Verification is an out-of-band check of a case's requester: a staff
// member called the agency on the directory's number and recorded what
// the agency said.
type Verification struct {
	ID         int64     `json:"id" db:"id"`
	Method     string    `json:"method" db:"method"`
	Phone      string    `json:"phone" db:"phone"`
	Outcome    string    `json:"outcome" db:"outcome"`
	Note       string    `json:"note" db:"note"`
	RecordedBy string    `json:"recorded_by" db:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at" db:"recorded_at"`
}

// The rules whose findings put who is asking in doubt. The policy engine
// raises them (all severity review); approval needs a confirmed callback
// while any of them stands.
const (
	RuleAgencyUnknown   = "AGENCY-UNKNOWN"
	RuleAgencyLookalike = "AGENCY-LOOKALIKE"
	RuleRequester       = "GLOBAL-REQUESTER"
)

// IdentityDoubts lists the identity findings (RuleAgencyUnknown,
// RuleAgencyLookalike, RuleRequester) of a case's decision, once each.
func IdentityDoubts(c *Case) []string {
	var out []string
	if c.Decision == nil {
		return out
	}
	for _, f := range c.Decision.Findings {
		switch f.Rule {
		case RuleAgencyUnknown, RuleAgencyLookalike, RuleRequester:
			if !contains(out, f.Rule) {
				out = append(out, f.Rule)
			}
		}
	}
	return out
}

// NeedsCallback reports why case c may not be approved without a confirmed
// callback (an emergency request, identity findings), or "" if it may.
func NeedsCallback(c *Case) string {
	why := IdentityDoubts(c)
	if c.Process.Type == Emergency {
		why = append([]string{"an emergency request"}, why...)
	}
	return strings.Join(why, ", ")
}

// FailedVerification returns the first failed verification of a case, or
// nil. A failed callback flags the case: it can no longer be approved.
func FailedVerification(c *Case) *Verification {
	for i := range c.Verifications {
		if c.Verifications[i].Outcome == VerifyFailed {
			return &c.Verifications[i]
		}
	}
	return nil
}

// CheckVerified says whether approver may approve case c as far as the
// requester's verification goes: a failed callback refuses it; an emergency
// or a case with identity findings needs a confirmed callback recorded by
// someone independent of the approver: not the approver, nor an account
// tied to it (ties, the approver's; 409 naming what is missing).
func CheckVerified(c *Case, approver string, ties Ties) error {
	if f := FailedVerification(c); f != nil {
		return Errorf(ECONFLICT, "case %s cannot be approved: the callback to %s by %s on %s failed, the agency did not confirm the request%s",
			c.Number, f.Phone, f.RecordedBy, f.RecordedAt.Format("2006-01-02 15:04 MST"), noteSuffix(f.Note))
	}
	why := NeedsCallback(c)
	if why == "" {
		return nil
	}
	mine, tied := false, ""
	for _, v := range c.Verifications {
		switch {
		case v.Outcome != VerifyConfirmed:
		case strings.EqualFold(v.RecordedBy, approver):
			mine = true
		case ties.Of(v.RecordedBy) != "":
			tied = ties.Of(v.RecordedBy)
		default:
			return nil
		}
	}
	switch {
	case tied != "":
		return Errorf(ECONFLICT, "case %s needs a confirmed callback recorded by someone independent of you, the approver (%s): %s, so that callback does not count", c.Number, why, tied)
	case mine:
		return Errorf(ECONFLICT, "case %s needs a confirmed callback recorded by someone other than you, the approver (%s): your own callback does not count", c.Number, why)
	}
	return Errorf(ECONFLICT, "case %s cannot be approved yet: it needs a confirmed callback to the agency on the directory's number, recorded by someone other than the approver (%s)", c.Number, why)
}

func noteSuffix(note string) string {
	if note = strings.TrimSpace(note); note != "" {
		return ": " + note
	}
	return ""
}
