package clock

import (
	"time"

	"envelope/cases"
)

// Move is one clock of one case that a change of the clock rules would
// move: its end (nil while paused or without a fixed end) and rule under
// the rules in force and under the new ones.
type Move struct {
	Case    string     `json:"case"`
	Clock   string     `json:"clock"`
	OldRule string     `json:"old_rule,omitempty"`
	NewRule string     `json:"new_rule,omitempty"`
	Old     *time.Time `json:"old"`
	New     *time.Time `json:"new"`
	Explain string     `json:"explain"`
}

// Replay computes every case's clocks under old and new and lists the ones
// that differ, case by case in the order given, clocks in their fixed order.
func Replay(old, new *Clocks, ids []string, inputs []Input) []Move {
	var moves []Move
	for i, in := range inputs {
		a, b := old.Compute(in), new.Compute(in)
		for _, name := range clockNames {
			x, y := Find(a, name), Find(b, name)
			if same(x, y) {
				continue
			}
			m := Move{Case: ids[i], Clock: name}
			if x != nil {
				m.OldRule, m.Old = x.Rule, x.At
			}
			if y != nil {
				m.NewRule, m.New, m.Explain = y.Rule, y.At, y.Explain
			}
			moves = append(moves, m)
		}
	}
	return moves
}

func same(x, y *cases.Deadline) bool {
	switch {
	case x == nil || y == nil:
		return x == y
	case x.Rule != y.Rule || x.Blocked != y.Blocked || x.OpenEnded != y.OpenEnded:
		return false
	case x.At == nil || y.At == nil:
		return x.At == y.At
	}
	return x.At.Equal(*y.At)
}
