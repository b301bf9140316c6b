package clock

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"envelope/cases"
)

// Input is what the clocks of a case are computed from.
type Input struct {
	Process                cases.ProcessType
	Country                string
	ReceivedAt             time.Time
	EffectiveAt            *time.Time // the order's effective date, else its issue date
	Emergency              bool       // the request states an imminent harm
	EnforcingStateNotified bool
	Events                 []Event // the case's audit events, oldest first
	Zone                   *time.Location
}

// Event is one audit event of a case, as the clocks read it.
type Event struct {
	Action string
	At     time.Time
	DueAt  *time.Time // for a reset: the new deadline
}

// InputOf builds the input of a request; events and zone are added by the
// caller.
func InputOf(req *cases.Request) Input {
	in := Input{Process: req.Process.Type, Country: req.Agency.Country, ReceivedAt: req.ReceivedAt,
		EffectiveAt: req.Process.EffectiveAt, EnforcingStateNotified: req.Process.EnforcingStateNotified,
		Emergency: req.Emergency != nil && req.Emergency.ImminentHarm}
	if in.EffectiveAt == nil {
		in.EffectiveAt = req.Process.IssuedAt
	}
	return in
}

// Compute returns the case's clocks, one per clock name that a rule covers,
// in the order of clockNames.
func (c *Clocks) Compute(in Input) []cases.Deadline {
	if in.Zone == nil {
		in.Zone = time.UTC
	}
	var out []cases.Deadline
	for _, name := range clockNames {
		r := c.match(name, in)
		if r == nil {
			continue
		}
		out = append(out, c.run(r, in))
	}
	return out
}

// Find returns the clock of that name among ds, or nil.
func Find(ds []cases.Deadline, clock string) *cases.Deadline {
	for i := range ds {
		if ds[i].Clock == clock {
			return &ds[i]
		}
	}
	return nil
}

func (c *Clocks) match(clock string, in Input) *rule {
	for _, r := range c.rules {
		if r.Clock != clock || (r.processes != nil && !r.processes[in.Process]) || (r.countries != nil && !r.countries[in.Country]) {
			continue
		}
		ok := true
		for _, w := range r.When {
			switch w {
			case "emergency":
				ok = ok && in.Emergency
			case "not_emergency":
				ok = ok && !in.Emergency
			case "enforcing_state_notified":
				ok = ok && in.EnforcingStateNotified
			case "not_enforcing_state_notified":
				ok = ok && !in.EnforcingStateNotified
			}
		}
		if ok {
			return r
		}
	}
	return nil
}

// run computes one clock: from its start, by its period, then through the
// case's events in order (pauses and resumes, resets, extensions, an early
// lift or a refusal of a hold, a linked production order).
func (c *Clocks) run(r *rule, in Input) cases.Deadline {
	d := cases.Deadline{Clock: r.Clock, Rule: r.ID, Start: "received_at", StartAt: in.ReceivedAt, Legal: r.Legal}
	if r.Start == "effective_at" && in.EffectiveAt != nil {
		d.Start, d.StartAt = "effective_at", *in.EffectiveAt
	}
	cal := c.calendarOf(in.Country)
	end := add(d.StartAt, r.period, in.Zone, cal)
	why := []string{fmt.Sprintf("%s from %s %s", r.period, d.Start, show(d.StartAt, in.Zone))}
	ev := c.file.Events
	var pausedAt *time.Time
	var pauseEvent string
	extensions := 0
	open, blocked := false, false
	for _, e := range in.Events {
		switch {
		case r.Clock == ClockDue && pausedAt == nil && e.At.Before(end) && c.isPause(e.Action):
			at := e.At
			pausedAt, pauseEvent = &at, e.Action
		case r.Clock == ClockDue && pausedAt != nil && c.resumes(pauseEvent, e.Action):
			stopped := e.At.Sub(*pausedAt)
			end = end.Add(stopped)
			to := e.At
			d.Pauses = append(d.Pauses, cases.Pause{Event: pauseEvent, From: *pausedAt, To: &to})
			why = append(why, fmt.Sprintf("paused %s by %s at %s until %s", human(stopped), pauseEvent, show(*pausedAt, in.Zone), show(e.At, in.Zone)))
			pausedAt = nil
		case r.Clock == ClockDue && ev.Reset != "" && e.Action == ev.Reset && e.DueAt != nil:
			end, d.Reset = *e.DueAt, e.Action
			why = append(why, fmt.Sprintf("reset by %s at %s to %s", e.Action, show(e.At, in.Zone), show(*e.DueAt, in.Zone)))
		case r.hasExtension && slices.Contains(ev.Extend, e.Action):
			if r.MaxExtensions > 0 && extensions >= r.MaxExtensions {
				why = append(why, fmt.Sprintf("%s at %s not counted: at most %s", e.Action, show(e.At, in.Zone), plural(r.MaxExtensions, "extension")))
				continue
			}
			extensions++
			end = add(end, r.ext, in.Zone, cal)
			why = append(why, fmt.Sprintf("extended by %s (%s at %s)", r.ext, e.Action, show(e.At, in.Zone)))
		case r.Clock == ClockHold && ev.LiftHold != "" && e.Action == ev.LiftHold && e.At.Before(end):
			end = e.At
			why = append(why, fmt.Sprintf("lifted early: %s at %s", e.Action, show(e.At, in.Zone)))
		case r.Clock == ClockHold && ev.Refuse != "" && e.Action == ev.Refuse:
			blocked = true
			why = append(why, fmt.Sprintf("%s at %s: nothing may be produced", e.Action, show(e.At, in.Zone)))
		case r.Clock == ClockPreserve && ev.LinkProduction != "" && e.Action == ev.LinkProduction:
			open = true
			why = append(why, fmt.Sprintf("%s at %s: kept as long as the production order needs", e.Action, show(e.At, in.Zone)))
		}
	}
	if pausedAt != nil {
		d.Pauses = append(d.Pauses, cases.Pause{Event: pauseEvent, From: *pausedAt})
		why = append(why, fmt.Sprintf("paused by %s since %s: the clock stands until it resumes", pauseEvent, show(*pausedAt, in.Zone)))
	}
	switch {
	case blocked:
		d.Blocked = true
	case open:
		d.OpenEnded = true
	case pausedAt == nil:
		d.At = &end
	}
	if d.At != nil {
		why = append(why, "ends "+show(end, in.Zone))
	}
	d.Explain = r.ID + ": " + strings.Join(why, "; ")
	return d
}

func (c *Clocks) isPause(action string) bool {
	for _, p := range c.file.Events.Pauses {
		if p.Pause == action {
			return true
		}
	}
	return false
}

func (c *Clocks) resumes(pause, action string) bool {
	for _, p := range c.file.Events.Pauses {
		if p.Pause == pause && p.Resume == action {
			return true
		}
	}
	return false
}

func (c *Clocks) calendarOf(country string) *calendar {
	if cal, ok := c.calendars[country]; ok {
		return cal
	}
	return c.calendars["default"]
}

// add moves t forward by p: hours as elapsed time; days on the calendar of
// zone (the same wall-clock time, a DST change making a day 23 or 25
// hours); business days to the end of the n-th business day after t's day.
func add(t time.Time, p period, zone *time.Location, cal *calendar) time.Time {
	switch p.unit {
	case "h":
		return t.Add(time.Duration(p.n) * time.Hour)
	case "d":
		return t.In(zone).AddDate(0, 0, p.n).UTC()
	}
	day := cases.DayStart(t, zone)
	for n := 0; n < p.n; {
		day = cases.NextDay(day, zone)
		if cal.business(day) {
			n++
		}
	}
	return cases.NextDay(day, zone).Add(-time.Second).UTC()
}

func (cal *calendar) business(day time.Time) bool {
	return !cal.weekend[day.Weekday()] && !cal.holidays[day.Format(time.DateOnly)]
}

func show(t time.Time, zone *time.Location) string { return t.In(zone).Format("2006-01-02 15:04 MST") }

func human(d time.Duration) string {
	d = d.Round(time.Minute)
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	switch {
	case days > 0 && rest == 0:
		return plural(int(days), "day")
	case days > 0:
		return fmt.Sprintf("%s %s", plural(int(days), "day"), strings.TrimSuffix(rest.String(), "0s"))
	}
	return strings.TrimSuffix(d.String(), "0s")
}

// TypedDue applies a deadline typed in at intake to the computed clocks: a
// legal deadline may only be shortened, and only with a reason; a platform
// target may be moved either way. It returns the due date to store and the
// due clock as it now stands (nil if no rule computes one), or an EINVALID
// error naming due_at or due_reason.
func TypedDue(ds []cases.Deadline, typed *time.Time, reason string) (*time.Time, error) {
	due := Find(ds, ClockDue)
	switch {
	case due == nil:
		return typed, nil
	case typed == nil:
		return due.At, nil
	case due.At != nil && due.Legal && typed.After(*due.At):
		return nil, cases.Invalid(map[string]string{"due_at": fmt.Sprintf(
			"%s is later than the legal deadline %s (%s): a typed-in deadline may only shorten it",
			typed.UTC().Format(time.RFC3339), due.At.UTC().Format(time.RFC3339), due.Rule)})
	case due.Legal && strings.TrimSpace(reason) == "":
		return nil, cases.Invalid(map[string]string{"due_reason": fmt.Sprintf(
			"is required: say why the deadline is shorter than the legal one (%s)", due.Rule)})
	}
	due.Shortened = strings.TrimSpace(reason)
	if due.Shortened == "" {
		due.Shortened = "typed in at intake"
	}
	// The reason is kept with the request, so the case's clocks know later
	// that its due_at was typed in.
	due.Explain += fmt.Sprintf("; replaced by the deadline typed in at intake, %s (%s)", typed.UTC().Format(time.RFC3339), due.Shortened)
	due.At = typed
	return typed, nil
}

// EventsOf turns a case's audit events into clock events; a reset carries
// its new deadline as "due_at" in the event's after.
func EventsOf(evs []*cases.Event) []Event {
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		ev := Event{Action: e.Action, At: e.At}
		if len(e.After) > 0 {
			var after struct {
				DueAt *time.Time `json:"due_at"`
			}
			if json.Unmarshal(e.After, &after) == nil {
				ev.DueAt = after.DueAt
			}
		}
		out = append(out, ev)
	}
	return out
}

// ForCase computes the clocks of a stored case from its request and audit
// events, and fills its Clocks and Deadline. A due_at typed in at intake
// (stored, and checked then) stands in place of the computed due clock,
// with the reason given.
func (c *Clocks) ForCase(k *cases.Case, evs []*cases.Event, zone *time.Location) {
	in := InputOf(&k.Request)
	in.Events, in.Zone = EventsOf(evs), zone
	ds := c.Compute(in)
	// Typed in: intake records a reason for every typed due_at; a case
	// stored before (or imported) is typed if its due_at differs from an
	// unpaused computed one.
	if due := Find(ds, ClockDue); due != nil && k.DueAt != nil && due.Reset == "" &&
		(k.DueReason != "" || (len(due.Pauses) == 0 && (due.At == nil || !due.At.Equal(*k.DueAt)))) {
		due.Shortened = k.DueReason
		if due.Shortened == "" {
			due.Shortened = "typed in at intake"
		}
		due.Explain += fmt.Sprintf("; replaced by the deadline typed in at intake, %s (%s)", k.DueAt.UTC().Format(time.RFC3339), due.Shortened)
		due.At = k.DueAt
	}
	k.Clocks, k.Deadline = ds, nil
	if due := Find(ds, ClockDue); due != nil {
		k.Deadline = due
	}
}

// HoldsProduction says whether the clocks forbid producing at now, and why.
func HoldsProduction(ds []cases.Deadline, now time.Time) (until *time.Time, why string, held bool) {
	h := Find(ds, ClockHold)
	switch {
	case h == nil:
		return nil, "", false
	case h.Blocked:
		return nil, h.Explain, true
	case h.At != nil && now.Before(*h.At):
		return h.At, h.Explain, true
	}
	return nil, "", false
}

// Unextendable says why an extension event would change no clock of the
// case ("" if one would): no rule that applies to it has an extension, or
// each that has has been extended as often as it allows.
func (c *Clocks) Unextendable(in Input) string {
	var used []string
	for _, name := range clockNames {
		r := c.match(name, in)
		if r == nil || !r.hasExtension {
			continue
		}
		n := 0
		for _, e := range in.Events {
			if slices.Contains(c.file.Events.Extend, e.Action) {
				n++
			}
		}
		if r.MaxExtensions == 0 || n < r.MaxExtensions {
			return ""
		}
		used = append(used, fmt.Sprintf("%s allows %s, all used", r.ID, plural(r.MaxExtensions, "extension")))
	}
	if len(used) > 0 {
		return strings.Join(used, "; ")
	}
	return fmt.Sprintf("no clock rule for a %s has an extension", in.Process)
}
