package store

import (
	"context"
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
	_, err := db.recomputeDueWith(ctx, tx, actor, id, *f)
	return err
}

// recomputeDueWith is recomputeDue with the due function f; it reports
// whether due_at moved.
func (db *DB) recomputeDueWith(ctx context.Context, tx *sqlx.Tx, actor string, id int64, f DueFunc) (bool, error) {
	c, err := db.getCase(ctx, tx, id)
	if err != nil {
		return false, err
	}
	var rows []eventRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind("SELECT "+eventColumns+
		" FROM audit_events WHERE entity = 'case' AND entity_id = ? ORDER BY seq"), strconv.FormatInt(id, 10)); err != nil {
		return false, err
	}
	evs := make([]*cases.Event, len(rows))
	for i := range rows {
		evs[i] = rows[i].event()
	}
	due, ok := f(ctx, c, evs)
	if !ok || sameTime(due, c.DueAt) {
		return false, nil
	}
	var v any
	if due != nil {
		v = due.UTC()
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET due_at = ? WHERE id = ?"), v, id); err != nil {
		return false, err
	}
	return true, db.Audit(ctx, tx, actor, "case.due_at", "case", strconv.FormatInt(id, 10),
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
	q, args, err := sqlx.In("SELECT id FROM cases WHERE status IN (?) ORDER BY id", cases.OpenStatuses)
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
		err := db.Tx(ctx, func(tx *sqlx.Tx) (err error) {
			if err := db.LockCase(ctx, tx, id); err != nil {
				return err
			}
			changed, err = db.recomputeDueWith(ctx, tx, actor, id, f)
			return err
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
