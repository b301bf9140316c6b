package policy

import (
	"fmt"
	"strings"
	"time"

	"envelope/cases"
)

// ReplayReport is what a policy would change across stored cases: the
// answer of `envelope policy replay` and of its API call.
type ReplayReport struct {
	PolicyVersion string   `json:"policy_version"` // the policy replayed
	Cases         int      `json:"cases"`          // how many cases were re-decided
	Changed       []Change `json:"changed"`        // the cases whose decision would change, in the order given
}

// Replay re-decides every case that each yields under p, each at the time
// its stored decision was made (Redecide), and reports the ones that would
// change (Diff). each is the storage side's iterator: it calls yield once
// per case and stops at the first error yield returns. Replay does no I/O
// of its own, so it is as pure as Decide.
func Replay(p *Policy, each func(yield func(*cases.Case) error) error) (*ReplayReport, error) {
	r := &ReplayReport{PolicyVersion: p.Version(), Changed: []Change{}}
	err := each(func(c *cases.Case) error {
		r.Cases++
		if ch, changed := Diff(c.ID, c.Number, c.Decision, p.Redecide(&c.Request, c.Decision)); changed {
			r.Changed = append(r.Changed, ch)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Change is what a policy change would do to one stored case.
type Change struct {
	CaseID     int64            `json:"case_id"`
	Number     string           `json:"number"`
	OldOutcome cases.Outcome    `json:"old_outcome"`
	NewOutcome cases.Outcome    `json:"new_outcome"`
	Gained     []cases.Category `json:"gained"` // allowed now, not before
	Lost       []cases.Category `json:"lost"`   // allowed before, not now
	// Rewindowed lists categories allowed both times whose window (or
	// prospective collection) changed.
	Rewindowed []cases.Category `json:"rewindowed"`
	// The user notice and the end of a preservation hold, which a policy
	// change can move without changing what is disclosed.
	OldUserNotice    cases.UserNotice `json:"old_user_notice"`
	NewUserNotice    cases.UserNotice `json:"new_user_notice"`
	OldPreserveUntil *time.Time       `json:"old_preserve_until"`
	NewPreserveUntil *time.Time       `json:"new_preserve_until"`
}

// Diff compares a case's stored decision with its replay under another
// policy, and reports whether anything a reviewer must look at changed: the
// outcome, a category allowed or no longer allowed, an allowed window, the
// user notice or the preservation end. Which rule is cited, the wording of
// reasons and the policy version are not changes. A nil decision counts as
// one that allows nothing.
func Diff(caseID int64, number string, old, new *cases.Decision) (Change, bool) {
	if old == nil {
		old = &cases.Decision{}
	}
	if new == nil {
		new = &cases.Decision{}
	}
	ch := Change{
		CaseID: caseID, Number: number,
		OldOutcome: old.Outcome, NewOutcome: new.Outcome,
		Gained: []cases.Category{}, Lost: []cases.Category{}, Rewindowed: []cases.Category{},
		OldUserNotice: old.UserNotice, NewUserNotice: new.UserNotice,
		OldPreserveUntil: old.PreserveUntil, NewPreserveUntil: new.PreserveUntil,
	}
	for _, a := range new.Allowed {
		b, ok := old.AllowedFor(a.Category)
		switch {
		case !ok:
			ch.Gained = append(ch.Gained, a.Category)
		case a.Prospective != b.Prospective || !sameWindow(a.Window, b.Window):
			ch.Rewindowed = append(ch.Rewindowed, a.Category)
		}
	}
	for _, a := range old.Allowed {
		if _, ok := new.AllowedFor(a.Category); !ok {
			ch.Lost = append(ch.Lost, a.Category)
		}
	}
	changed := ch.OldOutcome != ch.NewOutcome || len(ch.Gained)+len(ch.Lost)+len(ch.Rewindowed) > 0 ||
		ch.OldUserNotice != ch.NewUserNotice || !sameTime(ch.OldPreserveUntil, ch.NewPreserveUntil)
	return ch, changed
}

func sameWindow(a, b *cases.Window) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.From.Equal(b.From) && a.To.Equal(b.To)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// String is the change as one readable line, e.g.
// "LR-2026-000123: partial -> approve; gains ip_logs; loses contacts".
func (c Change) String() string {
	var b strings.Builder
	name := c.Number
	if name == "" {
		name = fmt.Sprintf("case %d", c.CaseID)
	}
	b.WriteString(name + ": ")
	if c.OldOutcome != c.NewOutcome {
		fmt.Fprintf(&b, "%s -> %s", c.OldOutcome, c.NewOutcome)
	} else {
		fmt.Fprintf(&b, "%s (unchanged)", c.NewOutcome)
	}
	for _, part := range []struct {
		what string
		cats []cases.Category
	}{{"gains", c.Gained}, {"loses", c.Lost}, {"new window for", c.Rewindowed}} {
		if len(part.cats) > 0 {
			fmt.Fprintf(&b, "; %s %s", part.what, joinList(part.cats))
		}
	}
	if c.OldUserNotice != c.NewUserNotice {
		fmt.Fprintf(&b, "; user notice %s -> %s", c.OldUserNotice, c.NewUserNotice)
	}
	if !sameTime(c.OldPreserveUntil, c.NewPreserveUntil) {
		fmt.Fprintf(&b, "; preserve until %s -> %s", optStamp(c.OldPreserveUntil), optStamp(c.NewPreserveUntil))
	}
	return b.String()
}

func optStamp(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return stamp(*t)
}
