package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// DueFunc computes a case's due_at from its request and its audit events
// (the clock engine, policy/clock, which the store does not import). ok
// false means no clock rule covers the case's deadline, so the stored
// due_at stands; a nil due with ok means the clock stands (a pause with no
// answer yet).
type DueFunc func(ctx context.Context, k *cases.Case, evs []*cases.Event) (due *time.Time, ok bool)

// SetDueFunc sets how due_at is recomputed after an event of a case's
// clocks (a clarification asked or answered, a reset, an extension). The
// server sets it with its clock rules; without one due_at moves only by a
// reset.
func (db *DB) SetDueFunc(f DueFunc) { db.due.Store(&f) }

// recomputeDue sets the case's stored due_at, which case lists, dashboard
// panels and reminders read, to what its clocks now say, in the
// transaction that recorded the event that moved them, and audits the move
// as case.due_at (before and after), so the column never disagrees with the
// explained clock.
func (db *DB) recomputeDue(ctx context.Context, tx *sqlx.Tx, actor string, id int64) error {
	f := db.due.Load()
	if f == nil || *f == nil {
		return nil
	}
	return db.recomputeDueWith(ctx, tx, actor, id, *f)
}

// recomputeDueWith is recomputeDue with the due function f.
func (db *DB) recomputeDueWith(ctx context.Context, tx *sqlx.Tx, actor string, id int64, f DueFunc) error {
	c, err := db.getCase(ctx, tx, id)
	if err != nil {
		return err
	}
	var rows []eventRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind("SELECT "+eventColumns+
		" FROM audit_events WHERE entity = 'case' AND entity_id = ? ORDER BY seq"), strconv.FormatInt(id, 10)); err != nil {
		return err
	}
	evs := make([]*cases.Event, len(rows))
	for i := range rows {
		evs[i] = rows[i].event()
	}
	due, ok := f(ctx, c, evs)
	if !ok || sameTime(due, c.DueAt) {
		return nil
	}
	var v any
	if due != nil {
		v = due.UTC()
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET due_at = ? WHERE id = ?"), v, id); err != nil {
		return err
	}
	return db.Audit(ctx, tx, actor, "case.due_at", "case", strconv.FormatInt(id, 10),
		map[string]any{"due_at": utcOrNil(c.DueAt)}, map[string]any{"due_at": utcOrNil(due)})
}

func sameTime(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

func utcOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// RecomputeDue is recomputeDue for the packages that record clock events in
// their own transactions (cases/metadata: a preservation's extension).
func (db *DB) RecomputeDue(ctx context.Context, tx *sqlx.Tx, actor string, id int64) error {
	return db.recomputeDue(ctx, tx, actor, id)
}

// RecomputeOpenDue recomputes the due_at of every open case with f: called
// after new clock rules are activated, so a deadline they move shows in
// case lists, dashboard panels and reminders at once rather than at the
// case's next clock event (f tells a computed due_at from a typed one, which
// stands). Each case is its own transaction, which locks its row before the
// audit head (the package's lock order), so an activation over many open
// cases never holds the head for long. It returns how many due dates moved.
func (db *DB) RecomputeOpenDue(ctx context.Context, actor string, f DueFunc) (int, error) {
	q, args, err := sqlx.In("SELECT id FROM cases WHERE status IN (?) ORDER BY id", statusStrings(cases.OpenStatuses))
	if err != nil {
		return 0, err
	}
	var ids []int64
	if err := db.r.SelectContext(ctx, &ids, db.r.Rebind(q), args...); err != nil {
		return 0, err
	}
	moved := 0
	for _, id := range ids {
		changed := false // set by the attempt that commits
		err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			var before sql.NullTime
			if err := tx.GetContext(ctx, &before, tx.Rebind("UPDATE cases SET updated_at = updated_at WHERE id = ? RETURNING due_at"), id); err != nil {
				return err
			}
			if err := db.recomputeDueWith(ctx, tx, actor, id, f); err != nil {
				return err
			}
			var after sql.NullTime
			if err := tx.GetContext(ctx, &after, tx.Rebind("SELECT due_at FROM cases WHERE id = ?"), id); err != nil {
				return err
			}
			changed = before.Valid != after.Valid || before.Valid && !before.Time.Equal(after.Time)
			return nil
		})
		if err != nil {
			return moved, fmt.Errorf("recompute the due date of case %d: %w", id, err)
		}
		if changed {
			moved++
		}
	}
	return moved, nil
}

func statusStrings(ss []cases.Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}
