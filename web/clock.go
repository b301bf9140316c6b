package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/policy/clock"
)

// clockRules holds each server's clock rules (policy/clock); kept here so
// the feature lives in one file, as export settings do.
var clockRules sync.Map // *Server → *clock.Clocks

// Clocks returns the clock rules in force: those set, or the default.
func (s *Server) Clocks() *clock.Clocks {
	if v, ok := clockRules.Load(s); ok {
		return v.(*clock.Clocks)
	}
	return clock.Default()
}

// SetClocks replaces the clock rules in force, for intake and for export.
func (s *Server) SetClocks(c *clock.Clocks) {
	clockRules.Store(s, c)
	es := s.exportService()
	es.mu.Lock()
	if es.exp != nil {
		es.exp.SetClocks(c)
	}
	es.mu.Unlock()
}

// computeDue sets a new request's due_at from the clock rules: the
// computed deadline, or the one typed in if it may stand (a legal deadline
// may only be shortened, and only with a reason: clock.TypedDue). The
// reason is kept with the request so the case's clocks know later that its
// due_at was typed in.
func (s *Server) computeDue(c *gin.Context, req *cases.Request) error {
	in := clock.InputOf(req)
	in.Zone = s.zone(c)
	ds := s.Clocks().Compute(in)
	due, err := clock.TypedDue(ds, req.DueAt, req.DueReason)
	if err != nil {
		return err
	}
	req.DueReason = ""
	if d := clock.Find(ds, clock.ClockDue); req.DueAt != nil && d != nil {
		req.DueReason = d.Shortened
	}
	req.DueAt = due
	return nil
}

// withClocks fills a case's clocks and its recorded EU non-execution from
// its events.
func (s *Server) withClocks(c *gin.Context, k *cases.Case) error {
	evs, err := s.DB.Events(c.Request.Context(), "case", strconv.FormatInt(k.ID, 10))
	if err != nil {
		return err
	}
	s.applyClocks(c, k, evs)
	return nil
}

// applyClocks is withClocks with the case's events read already.
func (s *Server) applyClocks(c *gin.Context, k *cases.Case, evs []*cases.Event) {
	s.Clocks().ForCase(k, evs, s.zone(c))
	for _, e := range evs {
		if e.Action != actionNonExecution {
			continue
		}
		var ne cases.NonExecution
		if json.Unmarshal(e.After, &ne) == nil {
			ne.By, ne.At = e.Actor, e.At
			k.NonExecution = &ne
		}
	}
}

// The case events the clock rules read that staff record through the API.
const actionNonExecution = "case.eu_non_execution"

var clockEventActions = map[string]string{
	"deadline_reset":         "case.deadline_reset",
	"extend":                 "case.extend",
	"eu_enforcing_confirmed": "case.eu_enforcing_confirmed",
	"eu_refusal_ground":      "case.eu_refusal_ground",
	"eu_production_linked":   "case.eu_production_linked",
	"eu_non_execution":       actionNonExecution,
}

func (s *Server) clockRoutes(api *gin.RouterGroup) {
	api.POST("/cases/:id/clock-events", s.bearer(caseLogger), s.postClockEvent)
}

// postClockEvent records one event of a case's clocks:
// {"event": "deadline_reset", "due_at": "…"}, {"event": "extend"},
// {"event": "eu_enforcing_confirmed"}, {"event": "eu_refusal_ground", "note"},
// {"event": "eu_production_linked", "production_case": "LR-…"},
// {"event": "eu_non_execution", "partial": true, "reason": "<Form 3 code>", "note"}.
// It answers 201 with the case and its clocks.
func (s *Server) postClockEvent(c *gin.Context) {
	var body struct {
		Event          string  `json:"event"`
		DueAt          *string `json:"due_at"`
		Note           string  `json:"note"`
		Reason         string  `json:"reason"`
		Partial        bool    `json:"partial"`
		ProductionCase string  `json:"production_case"`
	}
	raw, err := readBody(c, 64<<10)
	if err == nil {
		err = cases.DecodeStrict(raw, &body)
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	ctx := c.Request.Context()
	kase, err := s.DB.Case(ctx, c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	ev, err := s.clockEvent(c, kase, body.Event, body.DueAt, strings.TrimSpace(body.Note), body.Reason, body.Partial, body.ProductionCase)
	if err != nil {
		s.apiError(c, err)
		return
	}
	if ev.Action == clockEventActions["eu_production_linked"] {
		// The preserved records must outlive the preservation's 60 days
		// while the production order needs them: a legal hold keeps them
		// from the purge. It is placed first, so a failure leaves more
		// kept, never less.
		if err := s.keepForProduction(ctx, currentUser(c), kase, ev.Detail["production_case"]); err != nil {
			s.apiError(c, err)
			return
		}
	}
	if kase, err = s.DB.RecordClockEvent(ctx, currentUser(c), c.Param("id"), ev); err == nil {
		err = s.withClocks(c, kase)
	}
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.JSON(http.StatusCreated, kase)
}

// clockEvent checks one event against the case it is for.
func (s *Server) clockEvent(c *gin.Context, k *cases.Case, name string, dueAt *string, note, reason string, partial bool, production string) (store.ClockEvent, error) {
	action, ok := clockEventActions[name]
	if !ok {
		const events = "deadline_reset, extend, eu_enforcing_confirmed, eu_refusal_ground, eu_production_linked, eu_non_execution"
		if name == "" {
			return store.ClockEvent{}, cases.Invalid(map[string]string{"event": "is required: one of " + events})
		}
		return store.ClockEvent{}, cases.Invalid(map[string]string{"event": fmt.Sprintf("%q is not a clock event (one of %s)", name, events)})
	}
	ev := store.ClockEvent{Action: action, Detail: map[string]any{}}
	if note != "" {
		if len(note) > 4000 || cases.TextProblem(note) != "" {
			return ev, cases.Invalid(map[string]string{"note": "must be text of at most 4000 characters"})
		}
		ev.Detail["note"] = note
	}
	eu := k.Process.Type.IsEUOrder()
	switch name {
	case "deadline_reset":
		if dueAt == nil {
			return ev, cases.Invalid(map[string]string{"due_at": "is required: the new deadline the authority gave"})
		}
		t, err := cases.ParseTimeIn(*dueAt, s.zone(c), cases.EndOfDayInclusive)
		if err != nil {
			return ev, cases.Invalid(map[string]string{"due_at": err.Error()})
		}
		if !t.After(k.ReceivedAt) {
			return ev, cases.Invalid(map[string]string{"due_at": fmt.Sprintf("%s is not after the request was received (%s): a new deadline runs from the request, never before it",
				t.UTC().Format(time.RFC3339), k.ReceivedAt.UTC().Format(time.RFC3339))})
		}
		ev.DueAt = &t
	case "extend":
		evs, err := s.DB.Events(c.Request.Context(), "case", strconv.FormatInt(k.ID, 10))
		if err != nil {
			return ev, err
		}
		if err := s.refuseExtend(k, evs, s.zone(c)); err != nil {
			return ev, err
		}
	case "eu_enforcing_confirmed", "eu_refusal_ground":
		if k.Process.Type != cases.EUProductionOrder || !k.Process.EnforcingStateNotified {
			return ev, cases.Invalid(map[string]string{"event": "only an EU production order notified to the enforcing state has an enforcing authority"})
		}
	case "eu_production_linked":
		if k.Process.Type != cases.EUPreservationOrder {
			return ev, cases.Invalid(map[string]string{"event": "only an EU preservation order is linked to a subsequent production order"})
		}
		p, err := s.DB.Case(c.Request.Context(), production)
		if err != nil || p.Process.Type != cases.EUProductionOrder {
			return ev, cases.Invalid(map[string]string{"production_case": "must name the case of the EU production order that followed"})
		}
		ev.Detail["production_case"] = p.Number
	case "eu_non_execution":
		if !eu {
			return ev, cases.Invalid(map[string]string{"event": "Form 3 non-execution is for EU orders"})
		}
		if msg := cases.ValidForm3(reason); msg != "" {
			return ev, cases.Invalid(map[string]string{"reason": msg})
		}
		ev.Detail["reason"], ev.Detail["partial"] = reason, partial
	}
	return ev, nil
}

// keepForProduction places a legal hold on an EU preservation order's case
// for the production order that followed it; a hold already in place
// keeps the records as well.
func (s *Server) keepForProduction(ctx context.Context, u *cases.User, k *cases.Case, production any) error {
	if !retention.CanHold(u) {
		return cases.Errorf(cases.EFORBIDDEN, "linking a production order places a legal hold on the preservation: a reviewer or supervisor must do it")
	}
	_, err := retention.PlaceHold(ctx, s.DB, u, k.Number, fmt.Sprintf("EU preservation order kept for the production order %v (Art. 11 of Regulation (EU) 2023/1543)", production))
	if cases.ErrorCode(err) == cases.ECONFLICT {
		return nil // already held
	}
	return err
}
