package cases

import "time"

// Deadline is one clock of a case as the clock rules (policy/clock) compute
// it, explaining itself: the rule, the event it started from, and every
// pause that moved it.
type Deadline struct {
	// Clock names what runs out: "due" (the answer to the authority),
	// "hold" (nothing may be produced before), "objection" (the enforcing
	// state may still object until), "preserve" (records kept until),
	// "collection" (prospective collection authorised until).
	Clock   string     `json:"clock"`
	Rule    string     `json:"rule"`
	Start   string     `json:"start"` // the event it counts from, e.g. received_at
	StartAt time.Time  `json:"start_at"`
	At      *time.Time `json:"at"` // nil while the clock is paused
	Pauses  []Pause    `json:"pauses,omitempty"`
	// Reset is set when an authority gave a new deadline (the event).
	Reset   string `json:"reset,omitempty"`
	Explain string `json:"explain"`
	// Legal says the deadline is set by law: a typed-in deadline may only
	// shorten it. Platform targets may be moved either way.
	Legal bool `json:"legal"`
	// Shortened is the reason a typed-in deadline replaced the computed one.
	Shortened string `json:"shortened,omitempty"`
	// Blocked: nothing may be produced at all (a hold with a ground for
	// refusal). OpenEnded: the clock has no fixed end (a preservation kept
	// for a linked production order).
	Blocked   bool `json:"blocked,omitempty"`
	OpenEnded bool `json:"open_ended,omitempty"`
}

// Pause is one stop of a clock, from the event that paused it to the one
// that resumed it (nil: still paused).
type Pause struct {
	Event string     `json:"event"`
	From  time.Time  `json:"from"`
	To    *time.Time `json:"to"`
}
