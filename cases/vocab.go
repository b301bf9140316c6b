package cases

// ProcessType is the kind of legal process a request is made under.
type ProcessType string

// Legal process types (shared/domain.md).
const (
	Subpoena             ProcessType = "subpoena"
	CourtOrder2703d      ProcessType = "court_order_2703d"
	SearchWarrant        ProcessType = "search_warrant"
	PenRegister          ProcessType = "pen_register"
	TitleIII             ProcessType = "title_iii"
	Emergency            ProcessType = "emergency"
	Preservation         ProcessType = "preservation"
	NSL                  ProcessType = "nsl"
	FISA                 ProcessType = "fisa"
	ForeignCourtOrder    ProcessType = "foreign_court_order"
	ForeignPoliceRequest ProcessType = "foreign_police_request"
)

// ProcessTypes lists every process type in the order reports show them.
var ProcessTypes = []ProcessType{
	Subpoena, CourtOrder2703d, SearchWarrant, PenRegister, TitleIII,
	Emergency, Preservation, NSL, FISA, ForeignCourtOrder, ForeignPoliceRequest,
	EUProductionOrder, EUPreservationOrder, // cases/eu.go
}

// Valid reports whether p is a known process type.
func (p ProcessType) Valid() bool { return contains(ProcessTypes, p) }

// Via says how a request reached the platform when not directly.
type Via string

// Channels a request can come through.
const (
	ViaDirect   Via = ""
	ViaMLAT     Via = "mlat"
	ViaCloudAct Via = "cloud_act"
)

// Vias lists every channel.
var Vias = []Via{ViaDirect, ViaMLAT, ViaCloudAct}

// Valid reports whether v is a known channel.
func (v Via) Valid() bool { return contains(Vias, v) }

// Category is a data category of the metadata catalogue.
type Category string

// The metadata catalogue (shared/domain.md).
const (
	BasicSubscriberInfo Category = "basic_subscriber_info"
	IPLogs              Category = "ip_logs"
	DeviceInfo          Category = "device_info"
	Profile             Category = "profile"
	GroupInfo           Category = "group_info"
	LinkedAccounts      Category = "linked_accounts"
	EnforcementHistory  Category = "enforcement_history"
	Contacts            Category = "contacts"
	MessagePairs        Category = "message_pairs"
	MessageContent      Category = "message_content"
)

// Categories lists the whole catalogue in its documented order.
var Categories = []Category{
	BasicSubscriberInfo, IPLogs, DeviceInfo, Profile, GroupInfo,
	LinkedAccounts, EnforcementHistory, Contacts, MessagePairs, MessageContent,
}

// Valid reports whether c is in the catalogue.
func (c Category) Valid() bool { return contains(Categories, c) }

// TargetKind says how a target account is identified.
type TargetKind string

// Target kinds.
const (
	TargetPhone     TargetKind = "phone"
	TargetAccountID TargetKind = "account_id"
	TargetUsername  TargetKind = "username"
)

// TargetKinds lists every target kind.
var TargetKinds = []TargetKind{TargetPhone, TargetAccountID, TargetUsername}

// Valid reports whether k is a known target kind.
func (k TargetKind) Valid() bool { return contains(TargetKinds, k) }

// Status is where a case stands in its workflow.
type Status string

// Case statuses.
const (
	StatusReceived Status = "received"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
	StatusProduced Status = "produced"
	StatusClosed   Status = "closed"
	// StatusNeedsClarification: sent back to the agency with a question
	// (cases/casework.go); StatusWithdrawn: the agency withdrew the request.
	StatusNeedsClarification Status = "needs_clarification"
	StatusWithdrawn          Status = "withdrawn"
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusReceived, StatusApproved, StatusRejected, StatusProduced, StatusClosed,
	StatusNeedsClarification, StatusWithdrawn}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return contains(Statuses, s) }

// Role is what a user may do.
type Role string

// Roles.
const (
	RoleIntake     Role = "intake"     // logs cases
	RoleReviewer   Role = "reviewer"   // decides and approves others' cases
	RoleSupervisor Role = "supervisor" // a reviewer who may also sign off emergencies
	RoleAuditor    Role = "auditor"    // reads everything, changes nothing
	RoleAdmin      Role = "admin"      // manages users, agencies and the policy
	RoleCollector  Role = "collector"  // the messaging service: posts collection events only
)

// Roles lists every role.
var Roles = []Role{RoleIntake, RoleReviewer, RoleSupervisor, RoleAuditor, RoleAdmin, RoleCollector}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return contains(Roles, r) }

// Outcome is the policy engine's verdict on a request.
type Outcome string

// Outcomes.
const (
	OutcomeApprove     Outcome = "approve"
	OutcomePartial     Outcome = "partial"
	OutcomeReject      Outcome = "reject"
	OutcomeNeedsReview Outcome = "needs_review"
)

// Severity grades a policy finding.
type Severity string

// Severities.
const (
	SeverityInfo   Severity = "info"
	SeverityReview Severity = "review"
	SeverityBlock  Severity = "block"
)

// UserNotice says whether and when the account holder is told.
type UserNotice string

// User notice values.
const (
	NoticeNotify  UserNotice = "notify"
	NoticeDelayed UserNotice = "delayed"
	NoticeNone    UserNotice = "none"
)

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
