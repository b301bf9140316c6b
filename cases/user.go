package cases

import "time"

// User is a person (or, for the collector role, a service) that signs in.
type User struct {
	ID                 int64     `json:"id" db:"id"`
	Email              string    `json:"email" db:"email"`
	Role               Role      `json:"role" db:"role"`
	MustChangePassword bool      `json:"must_change_password" db:"must_change_password"`
	Disabled           bool      `json:"disabled" db:"disabled"`
	CreatedAt          time.Time `json:"created_at" db:"created_at"`
	// TimeZone is the IANA zone the portal shows this user times in; ""
	// means the organisation's.
	TimeZone string `json:"time_zone" db:"time_zone"`
}

// System is the actor recorded for changes made by envelope itself
// (migrations, scheduled jobs, demo data).
const System = "system"

// CanRead reports whether the user may read cases.
func (u *User) CanRead() bool {
	return u != nil && !u.Disabled && u.Role != RoleCollector
}

// CanLog reports whether the user may log new cases and edit open ones.
func (u *User) CanLog() bool {
	return u != nil && !u.Disabled && (u.Role == RoleIntake || u.Role == RoleReviewer || u.Role == RoleSupervisor || u.Role == RoleAdmin)
}
