package web

import (
	"context"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/policy/clock"
)

// dueOf is the store's DueFunc: a case's deadline under the clock rules in
// force, from its request and events, in the organisation's zone. A due_at
// typed in at intake stands as ForCase keeps it; no due rule leaves the
// stored due_at alone.
func (s *Server) dueOf(ctx context.Context, k *cases.Case, evs []*cases.Event) (*time.Time, bool) {
	s.Clocks().ForCase(k, evs, s.orgZone(ctx, ""))
	if k.Deadline == nil {
		return nil, false
	}
	return k.Deadline.At, true
}

// movedDue is the due function for the open cases when the clock rules
// change from old to now. A due_at the old rules computed follows the new
// ones; one that differs from what they computed was typed in (or set
// otherwise) and stands, as it would at the case's next clock event. The
// new rules cannot tell that by themselves: to them every due_at the old
// rules computed differs from theirs, so looks typed in.
func (s *Server) movedDue(old, now *clock.Clocks) store.DueFunc {
	return func(ctx context.Context, k *cases.Case, evs []*cases.Event) (*time.Time, bool) {
		zone := s.orgZone(ctx, "")
		was := *k
		old.ForCase(&was, evs, zone)
		if was.Deadline == nil || was.Deadline.Shortened != "" || !sameInstant(was.Deadline.At, k.DueAt) {
			return nil, false
		}
		next := *k
		next.DueAt, next.DueReason = nil, ""
		now.ForCase(&next, evs, zone)
		if next.Deadline == nil {
			return nil, false
		}
		return next.Deadline.At, true
	}
}

func sameInstant(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

// refuseExtend refuses an "extend" that no clock of the case can take: no
// rule that applies has an extension, or each has had all it allows. Such
// an event would be recorded and change nothing, so it is refused (400
// naming event) and nothing is written.
func (s *Server) refuseExtend(k *cases.Case, evs []*cases.Event, zone *time.Location) error {
	in := clock.InputOf(&k.Request)
	in.Events, in.Zone = clock.EventsOf(evs), zone
	if why := s.Clocks().Unextendable(in); why != "" {
		return cases.Invalid(map[string]string{"event": "extend cannot apply to case " + k.Number + ": " + why})
	}
	return nil
}

// ActiveClocks returns the clock rules a server or an import should use:
// those activated last through the API, or the embedded default.
func ActiveClocks(ctx context.Context, db *store.DB) (*clock.Clocks, error) {
	src, ok, err := db.ActiveClockRules(ctx)
	if err != nil || !ok {
		return clock.Default(), err
	}
	return clock.Load(src)
}

// ComputedDue fills a request's due_at, when it has none, with the deadline
// its clocks compute in zone: for requests that reach the store without
// intake (a legacy tracker's import).
func ComputedDue(c *clock.Clocks, req *cases.Request, zone *time.Location) {
	if req.DueAt != nil {
		return
	}
	in := clock.InputOf(req)
	in.Zone = zone
	if d := clock.Find(c.Compute(in), clock.ClockDue); d != nil {
		req.DueAt = d.At
	}
}
