package cases

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// labels are the words people read for the vocabulary's codes: the one
// table the portal, the PDFs and the letters all take them from, so a code
// such as search_warrant never reaches a reader. A code with no entry
// (one added to vocab.go without a label) still reads as words, never as
// the raw code: see humanise.
var labels = map[string]string{
	// Process types.
	string(Subpoena): "Subpoena", string(CourtOrder2703d): "Court order under 18 U.S.C. 2703(d)",
	string(SearchWarrant): "Search warrant", string(PenRegister): "Pen register / trap and trace order",
	string(TitleIII): "Title III wiretap order", string(Emergency): "Emergency disclosure request",
	string(Preservation): "Preservation request", string(NSL): "National security letter",
	string(FISA): "FISA order", string(ForeignCourtOrder): "Foreign court order",
	string(ForeignPoliceRequest): "Foreign police request",
	string(EUProductionOrder):    "EU production order (EPOC)", string(EUPreservationOrder): "EU preservation order (EPOC-PR)",
	// Channels.
	string(ViaMLAT): "Mutual legal assistance treaty (MLAT)", string(ViaCloudAct): "CLOUD Act agreement",
	// Categories.
	string(BasicSubscriberInfo): "Basic subscriber information", string(IPLogs): "IP logs",
	string(DeviceInfo): "Device information", string(Profile): "Profile", string(GroupInfo): "Group information",
	string(LinkedAccounts): "Linked accounts", string(EnforcementHistory): "Enforcement history",
	string(Contacts): "Contacts", string(MessagePairs): "Message pairs (sender, recipient, time)",
	string(MessageContent): "Message content",
	// Target kinds.
	string(TargetPhone): "Phone number", string(TargetAccountID): "Account ID", string(TargetUsername): "Username",
	// Statuses.
	string(StatusReceived): "Received", string(StatusApproved): "Approved", string(StatusRejected): "Rejected",
	string(StatusProduced): "Produced", string(StatusClosed): "Closed",
	string(StatusNeedsClarification): "Needs clarification", string(StatusWithdrawn): "Withdrawn",
	// How a case ended, and why (cases/casework.go).
	string(ResultSomeData): "Some data produced", string(ResultNoData): "No data found", string(ResultRefused): "Refused",
	string(ResultChallenged): "Challenged",
	"overbroad":              "Overbroad", "defective_process": "Defective process", "wrong_jurisdiction": "Wrong jurisdiction",
	"not_our_user": "Not the platform's user", "protected_account": "Protected account",
	"content_requested": "Message content requested", "other": "Other reason",
	// Roles.
	string(RoleIntake): "Intake", string(RoleReviewer): "Reviewer", string(RoleSupervisor): "Supervisor",
	string(RoleAuditor): "Auditor", string(RoleAdmin): "Administrator", string(RoleCollector): "Collector",
	// Outcomes, severities, user notice.
	string(OutcomeApprove): "Approve", string(OutcomePartial): "Partial", string(OutcomeReject): "Reject",
	string(OutcomeNeedsReview): "Needs review",
	string(SeverityInfo):       "Info", string(SeverityReview): "Review", string(SeverityBlock): "Block",
	string(NoticeNotify): "Notify the user before disclosure", string(NoticeDelayed): "Notice delayed (nondisclosure)",
	string(NoticeNone): "No user notice",
}

// shortLabels are shorter names for narrow table columns (the report's
// PDF); a code without one takes its label.
var shortLabels = map[string]string{
	string(CourtOrder2703d): "2703(d) order", string(PenRegister): "Pen register", string(TitleIII): "Title III",
	string(Emergency): "Emergency", string(Preservation): "Preservation",
	string(ForeignCourtOrder): "Foreign court", string(ForeignPoliceRequest): "Foreign police",
	string(NSL): "National security letters", string(FISA): "FISA orders and directives",
}

// ShortLabel returns the short name of a code for a narrow column.
func ShortLabel(code string) string {
	if l, ok := shortLabels[code]; ok {
		return l
	}
	return Label(code)
}

// Label returns the words for a vocabulary code of any of the types
// above, or the code as words if it has none.
func Label(code string) string {
	if l, ok := labels[code]; ok {
		return l
	}
	return humanise(code)
}

// humanise turns an unlabelled code into words: underscores become spaces
// and the first letter is upper case.
func humanise(code string) string {
	s := strings.ReplaceAll(code, "_", " ")
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return ""
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// Label returns the process type's name.
func (p ProcessType) Label() string { return Label(string(p)) }

// Label returns the channel's name; a direct request reads "Direct".
func (v Via) Label() string {
	if v == ViaDirect {
		return "Direct"
	}
	return Label(string(v))
}

// Label returns the category's name.
func (c Category) Label() string { return Label(string(c)) }

// Label returns the target kind's name.
func (k TargetKind) Label() string { return Label(string(k)) }

// Label returns the status's name.
func (s Status) Label() string { return Label(string(s)) }

// Label returns the role's name.
func (r Role) Label() string { return Label(string(r)) }

// Label returns the outcome's name.
func (o Outcome) Label() string { return Label(string(o)) }

// Label returns the severity's name.
func (s Severity) Label() string { return Label(string(s)) }

// Label returns what the user notice means.
func (n UserNotice) Label() string { return Label(string(n)) }

// roleLabels are the words for the issuing authority of an EU order:
// the role's own (Label), as "other" means another thing as a reason.
var roleLabels = map[AuthorityRole]string{
	RoleJudge: "Judge or court", RoleProsecutor: "Public prosecutor", RoleOther: "Other competent authority",
}

// Label is the role in words.
func (r AuthorityRole) Label() string {
	if l, ok := roleLabels[r]; ok {
		return l
	}
	return Label(string(r))
}
