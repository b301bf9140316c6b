package cases

import "time"

// Decision is the policy engine's explained verdict on a request: what may be
// disclosed, what may not and why, each entry naming the rule behind it.
type Decision struct {
	Outcome       Outcome    `json:"outcome"`
	PolicyVersion string     `json:"policy_version"`
	DecidedAt     time.Time  `json:"decided_at"`
	Allowed       []Allowed  `json:"allowed"`
	Denied        []Denied   `json:"denied"`
	Findings      []Finding  `json:"findings"`
	UserNotice    UserNotice `json:"user_notice"`
	PreserveUntil *time.Time `json:"preserve_until"`
}

// Allowed is a category the request may have, and the window it may cover.
type Allowed struct {
	Category Category `json:"category"`
	Rule     string   `json:"rule"`
	Window   *Window  `json:"window,omitempty"`
	// Prospective marks data collected going forward (message pairs, and IP
	// logs under a pen register) rather than read from stored records.
	Prospective bool `json:"prospective,omitempty"`
}

// Denied is a category the request may not have.
type Denied struct {
	Category Category `json:"category"`
	Rule     string   `json:"rule"`
	Reason   string   `json:"reason"`
}

// Finding is an observation a rule made about the request.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// AllowedFor returns the allowance for category c, if any.
func (d *Decision) AllowedFor(c Category) (Allowed, bool) {
	for _, a := range d.Allowed {
		if a.Category == c {
			return a, true
		}
	}
	return Allowed{}, false
}
