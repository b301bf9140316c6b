package cases

import (
	"fmt"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// EU production and preservation orders (Regulation (EU) 2023/1543).
const (
	EUProductionOrder   ProcessType = "eu_production_order"   // EPOC
	EUPreservationOrder ProcessType = "eu_preservation_order" // EPOC-PR
)

// IsEUOrder reports whether p is one of the two EU order types.
func (p ProcessType) IsEUOrder() bool { return p == EUProductionOrder || p == EUPreservationOrder }

// AuthorityRole is who issued an EU order (Art. 4).
type AuthorityRole string

// Authority roles. An order of another competent authority is validated by
// a judge or a prosecutor and is then treated as theirs.
const (
	RoleJudge      AuthorityRole = "judge"
	RoleProsecutor AuthorityRole = "prosecutor"
	RoleOther      AuthorityRole = "other"
)

// AuthorityRoles lists every authority role.
var AuthorityRoles = []AuthorityRole{RoleJudge, RoleProsecutor, RoleOther}

// EffectiveRole is the role an EU order is treated as: validated_by for an
// order of another authority, else its own role.
func (p Process) EffectiveRole() AuthorityRole {
	if p.AuthorityRole == RoleOther {
		return p.ValidatedBy
	}
	return p.AuthorityRole
}

// validateEU checks the EU fields of a process: required and known on an EU
// order, absent on every other process type.
func validateEU(f fieldErrors, p *Process) {
	if !p.Type.IsEUOrder() {
		if p.AuthorityRole != "" {
			f.add("process.authority_role", "is only for EU orders (eu_production_order, eu_preservation_order), not %s", p.Type)
		}
		if p.ValidatedBy != "" {
			f.add("process.validated_by", "is only for EU orders (eu_production_order, eu_preservation_order), not %s", p.Type)
		}
		if p.EnforcingStateNotified {
			f.add("process.enforcing_state_notified", "is only for EU orders (eu_production_order, eu_preservation_order), not %s", p.Type)
		}
		return
	}
	switch {
	case p.AuthorityRole == "":
		f.add("process.authority_role", "is required on an EU order: who issued it (judge, prosecutor or other)")
	case !contains(AuthorityRoles, p.AuthorityRole):
		f.add("process.authority_role", "%q is not an authority role (one of %s)", p.AuthorityRole, join(AuthorityRoles))
	}
	switch {
	case p.ValidatedBy != "" && p.ValidatedBy != RoleJudge && p.ValidatedBy != RoleProsecutor:
		f.add("process.validated_by", "%q cannot validate an EU order: a judge or a prosecutor must (judge, prosecutor)", p.ValidatedBy)
	case p.AuthorityRole == RoleOther && p.ValidatedBy == "":
		f.add("process.validated_by", "is required when authority_role is other: the judge or prosecutor who validated the order (judge, prosecutor)")
	}
}

// Form 3 reasons (Annex III of the Regulation) for not executing an EU
// production order, in whole or in part.
var Form3Reasons = map[string]string{
	"incomplete":            "the certificate is incomplete",
	"manifest_errors":       "the certificate contains manifest errors in content",
	"insufficient_info":     "the certificate does not contain sufficient information to execute it",
	"data_not_held":         "the data are not stored by the service provider",
	"de_facto_impossible":   "de facto impossibility due to circumstances not attributable to the service provider",
	"not_addressee":         "the service provider is not the addressee of the order",
	"invalid_authority":     "the order was not issued or validated by a competent authority",
	"third_country_law":     "execution would conflict with the law of a third country",
	"immunity_or_privilege": "the data are protected by immunities, privileges or rules on freedom of press",
	"other":                 "another reason, explained in the note",
}

// ValidForm3 reports why code is not a Form 3 reason, or "" if it is.
func ValidForm3(code string) string {
	if _, ok := Form3Reasons[code]; ok {
		return ""
	}
	return fmt.Sprintf("%q is not a Form 3 reason (incomplete, manifest_errors, insufficient_info, data_not_held, de_facto_impossible, not_addressee, invalid_authority, third_country_law, immunity_or_privilege, other)", code)
}

// PhoneRegion returns the numbering-plan region (e.g. US, PR, GB) of an
// E.164 phone number, or "" if it has none.
func PhoneRegion(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(n)
}

// NonExecution is the platform's partial or full non-execution of an EU
// order, with its Form 3 reason, as recorded on the case.
type NonExecution struct {
	Partial bool      `json:"partial"`
	Reason  string    `json:"reason"` // a Form 3 code (Form3Reasons)
	Note    string    `json:"note"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}
