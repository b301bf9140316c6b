package store

import (
	"context"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// ClockEvent is one event of a case that its clocks read (policy/clock):
// a new deadline from the authority, an extension, and the steps of an EU
// order (the enforcing state confirmed or raised a ground for refusal, a
// production order linked to a preservation, a non-execution with its Form
// 3 reason). It is recorded in the audit log, the case's history.
type ClockEvent struct {
	Action string     // e.g. case.deadline_reset
	DueAt  *time.Time // case.deadline_reset: the new deadline, stored as the case's due_at
	Detail map[string]any
}

// RecordClockEvent records ev on a case in one transaction: the audit event
// and the case's due_at: for a reset the new deadline, else what its
// clocks now say (recomputeDue).
func (db *DB) RecordClockEvent(ctx context.Context, actor *cases.User, ref string, ev ClockEvent) (*cases.Case, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot record case events")
	}
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out *cases.Case
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		// Locking the case row orders this event against other changes of it.
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET updated_at = ? WHERE id = ?"), db.Now(), id); err != nil {
			return err
		}
		c, err := db.getCase(ctx, tx, id)
		if err != nil {
			return err
		}
		var before any
		after := map[string]any{}
		for k, v := range ev.Detail {
			after[k] = v
		}
		if ev.DueAt != nil {
			before = map[string]any{"due_at": c.DueAt}
			after["due_at"] = ev.DueAt.UTC()
			if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET due_at = ? WHERE id = ?"), ev.DueAt.UTC(), id); err != nil {
				return err
			}
			c.DueAt = ev.DueAt
		}
		if err := db.Audit(ctx, tx, actor.Email, ev.Action, "case", strconv.FormatInt(id, 10), before, after); err != nil {
			return err
		}
		if ev.DueAt == nil { // a reset sets due_at itself, as the authority gave it
			if err := db.recomputeDue(ctx, tx, actor.Email, id); err != nil {
				return err
			}
			if c, err = db.getCase(ctx, tx, id); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	return out, err
}
