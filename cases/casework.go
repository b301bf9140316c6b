package cases

import (
	"fmt"
	"slices"
	"strings"
)

// The case work of a legal team (issue 16): how a case ended, and how a
// reviewer shapes the policy's decision before anything is produced.

// Result is how a case ended, as the transparency report counts it. It is
// "" while the case is open and for history that predates it.
type Result string

// Case results.
const (
	ResultSomeData   Result = "some_data"  // a package with records was produced
	ResultNoData     Result = "no_data"    // the targets had no records: nothing produced
	ResultRefused    Result = "refused"    // the legal team refused the request
	ResultChallenged Result = "challenged" // the process is being challenged
	ResultWithdrawn  Result = "withdrawn"  // the agency withdrew the request
)

// Results lists every result.
var Results = []Result{ResultSomeData, ResultNoData, ResultRefused, ResultChallenged, ResultWithdrawn}

// Valid reports whether r is a known result.
func (r Result) Valid() bool { return slices.Contains(Results, r) }

// RefusalReasons are the reason codes a refused or challenged case ends
// with, so the report and an auditor can group them.
var RefusalReasons = []string{
	"overbroad", "defective_process", "wrong_jurisdiction", "not_our_user",
	"protected_account", "content_requested", "other",
}

// OpenStatuses are the statuses of a case still being worked on.
var OpenStatuses = []Status{StatusReceived, StatusApproved, StatusNeedsClarification}

// Open reports whether a case in status s is still being worked on.
func (s Status) Open() bool { return slices.Contains(OpenStatuses, s) }

// Shape is a reviewer's narrowing of the policy's decision: fewer
// categories, a shorter window, and a produce / do-not-produce decision per
// target. The package follows it exactly (ShapedCase). It can only narrow:
// nothing outside the policy's decision can be put back.
type Shape struct {
	// Categories, when set, are the only allowed categories produced.
	Categories []Category `json:"categories,omitempty"`
	// Window, when set, bounds every allowed category's window.
	Window *Window `json:"window,omitempty"`
	// Targets are the per-target decisions; a target without one is
	// produced.
	Targets []TargetDecision `json:"targets,omitempty"`
	// Reason says why the decision was shaped; it is required.
	Reason string `json:"reason"`
}

// TargetDecision is whether one target's data is produced, and why not.
type TargetDecision struct {
	Value   string `json:"value"`
	Produce bool   `json:"produce"`
	// Reason is required for do-not-produce: not the platform's user, a
	// protected account, outside the process.
	Reason string `json:"reason,omitempty"`
}

// CheckShape validates a shape against case c's decision: every category
// must be one the decision allows, the window must lie inside the
// request's and each allowance's, and every decided target must be one of
// the case's. Errors name the field.
func CheckShape(c *Case, s *Shape) error {
	f := fieldErrors{}
	if c.Decision == nil {
		return Errorf(ECONFLICT, "case %s has no policy decision to shape", c.Number)
	}
	s.Reason = strings.TrimSpace(s.Reason)
	if s.Reason == "" {
		f.add("reason", "is required: say why the decision is shaped")
	} else if msg := TextProblem(s.Reason); msg != "" {
		f.add("reason", "%s", msg)
	} else if len(s.Reason) > maxText {
		f.add("reason", "is longer than %d characters", maxText)
	}
	for i, cat := range s.Categories {
		if _, ok := c.Decision.AllowedFor(cat); !ok {
			f.add(fmt.Sprintf("categories[%d]", i), "%q is not allowed by the policy's decision; a reviewer can only narrow it", cat)
		}
	}
	if w := s.Window; w != nil {
		switch {
		case !w.From.Before(w.To):
			f.add("window", "must end after it starts")
		case c.Window != nil && (w.From.Before(c.Window.From) || w.To.After(c.Window.To)):
			f.add("window", "is wider than the request's window (%s to %s)", c.Window.From.Format("2006-01-02"), c.Window.To.Format("2006-01-02"))
		}
		for _, a := range c.Decision.Allowed {
			if a.Window != nil && (w.From.Before(a.Window.From) || w.To.After(a.Window.To)) {
				f.add("window", "is wider than the policy allows for %s (%s to %s)", a.Category, a.Window.From.Format("2006-01-02"), a.Window.To.Format("2006-01-02"))
			}
		}
	}
	seen := map[string]bool{}
	for i, td := range s.Targets {
		name := fmt.Sprintf("targets[%d]", i)
		td.Value = strings.TrimSpace(td.Value)
		s.Targets[i].Reason = strings.TrimSpace(td.Reason)
		switch {
		case !slices.ContainsFunc(c.Targets, func(t Target) bool { return t.Value == td.Value }):
			f.add(name+".value", "%q is not a target of case %s", td.Value, c.Number)
		case seen[td.Value]:
			f.add(name+".value", "%q is decided twice", td.Value)
		case !td.Produce && s.Targets[i].Reason == "":
			f.add(name+".reason", "is required for do-not-produce")
		case TextProblem(td.Reason) != "":
			f.add(name+".reason", "%s", TextProblem(td.Reason))
		}
		seen[td.Value] = true
		s.Targets[i].Value = td.Value
	}
	return f.err()
}

// ShapedCase returns a copy of c whose decision and targets are what the
// reviewer's shape leaves: only the shaped categories, each window cut to
// the shaped one, and only the targets to produce. Without a shape it
// returns c.
func ShapedCase(c *Case) *Case {
	if c.Shape == nil || c.Decision == nil {
		return c
	}
	s := c.Shape
	out := *c
	d := *c.Decision
	d.Allowed = nil
	for _, a := range c.Decision.Allowed {
		if len(s.Categories) > 0 && !slices.Contains(s.Categories, a.Category) {
			continue
		}
		if s.Window != nil {
			w := *s.Window
			if a.Window != nil {
				w = intersect(*a.Window, w)
			}
			a.Window = &w
		}
		d.Allowed = append(d.Allowed, a)
	}
	out.Decision = &d
	out.Targets = nil
	for _, t := range c.Targets {
		if i := slices.IndexFunc(s.Targets, func(td TargetDecision) bool { return td.Value == t.Value }); i < 0 || s.Targets[i].Produce {
			out.Targets = append(out.Targets, t)
		}
	}
	return &out
}

func intersect(a, b Window) Window {
	w := a
	if b.From.After(w.From) {
		w.From = b.From
	}
	if b.To.Before(w.To) {
		w.To = b.To
	}
	return w
}

// CheckResult validates a case result set by hand (refused, challenged):
// some_data and no_data come only from a production.
func CheckResult(r Result, reason string) error {
	switch {
	case r != ResultRefused && r != ResultChallenged:
		return Invalid(map[string]string{"result": "choose refused or challenged"})
	case !slices.Contains(RefusalReasons, reason):
		return Invalid(map[string]string{"reason": "choose one of " + strings.Join(RefusalReasons, ", ")})
	}
	return nil
}
