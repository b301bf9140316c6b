package metadata

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
)

// Window is the collection window of one target under one approved
// prospective order, for one category. Collection is on from OpensAt to
// EndsAt: EndsAt is the authorised ClosesAt, or the time of an early close
// (the order withdrawn).
type Window struct {
	ID       int64          `json:"id" db:"id"`
	CaseID   int64          `json:"case_id" db:"case_id"`
	Category cases.Category `json:"category" db:"category"`
	Target   string         `json:"target" db:"target"`
	OpensAt  time.Time      `json:"opens_at" db:"opens_at"`
	ClosesAt time.Time      `json:"closes_at" db:"closes_at"`
	EndsAt   time.Time      `json:"ends_at" db:"ends_at"`
	OpenedBy string         `json:"opened_by" db:"opened_by"`
	ClosedAt *time.Time     `json:"closed_at,omitempty" db:"closed_at"`
	ClosedBy string         `json:"closed_by,omitempty" db:"closed_by"`
}

// Active reports whether collection is on at t.
func (w *Window) Active(t time.Time) bool {
	return !t.Before(w.OpensAt) && t.Before(w.EndsAt)
}

func (w *Window) utc() {
	w.OpensAt, w.ClosesAt, w.EndsAt = w.OpensAt.UTC(), w.ClosesAt.UTC(), w.EndsAt.UTC()
	if w.ClosedAt != nil {
		t := w.ClosedAt.UTC()
		w.ClosedAt = &t
	}
}

const windowColumns = "id, case_id, category, target, opens_at, closes_at, ends_at, opened_by, closed_at, closed_by"

// Windows returns the collection windows of a case.
func (s *Store) Windows(ctx context.Context, caseID int64) ([]Window, error) {
	return windowsOf(ctx, s.db.Reader(), caseID)
}

func windowsOf(ctx context.Context, q queryer, caseID int64) ([]Window, error) {
	var ws []Window
	if err := sqlx.SelectContext(ctx, q, &ws, q.Rebind("SELECT "+windowColumns+
		" FROM collection_windows WHERE case_id = ? ORDER BY id"), caseID); err != nil {
		return nil, fmt.Errorf("read collection windows: %w", err)
	}
	for i := range ws {
		ws[i].utc()
	}
	return ws, nil
}

// openWindows opens a collection window per target for each prospective
// category the decision allows. Collection is prospective: a window opens
// at the later of the approval and the allowed window's start, never
// before, and closes at the allowed window's end. An allowance whose end
// has already passed opens nothing.
func (s *Store) openWindows(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case) error {
	approvedAt := s.db.Now()
	var opened []Window
	for _, a := range c.Decision.Allowed {
		if !a.Prospective || a.Window == nil {
			continue
		}
		opens := a.Window.From.UTC()
		if approvedAt.After(opens) {
			opens = approvedAt
		}
		closes := a.Window.To.UTC()
		if !closes.After(opens) {
			continue
		}
		for _, t := range c.Targets {
			if cases.HasWildcard(t.Value) {
				return cases.Errorf(cases.ECONFLICT, "case %s: target %q is not one account; no collection window can open for it", c.Number, t.Value)
			}
			w := Window{CaseID: c.ID, Category: a.Category, Target: t.Value, OpensAt: opens, ClosesAt: closes, EndsAt: closes, OpenedBy: actor}
			res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO collection_windows
				(case_id, category, target, opens_at, closes_at, ends_at, opened_by, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, category, target) DO NOTHING`),
				w.CaseID, w.Category, w.Target, w.OpensAt, w.ClosesAt, w.EndsAt, actor, approvedAt)
			if err != nil {
				return fmt.Errorf("open collection window: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				opened = append(opened, w)
			}
		}
	}
	if len(opened) == 0 {
		return nil
	}
	if err := bumpVersion(ctx, tx); err != nil {
		return err
	}
	return s.db.Audit(ctx, tx, actor, "collection.open", "case", strconv.FormatInt(c.ID, 10), nil,
		map[string]any{"windows": opened})
}

// onClose ends the collection of a case that is closed (finished, or its
// order withdrawn), in the close's own transaction. Pairs already kept
// that are stamped at or after the close (possible only within the clock
// skew collection tolerates) are discarded: nothing after the close may
// remain.
func (s *Store) onClose(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case) error {
	// Taking the state row first serializes with collectors storing pairs
	// (they read it under a lock): they finish before the close reads
	// anything, or see the close when they start.
	if err := bumpVersion(ctx, tx); err != nil {
		return err
	}
	now := s.db.Now()
	ws, err := windowsOf(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	var ended []Window
	for _, w := range ws {
		if !w.EndsAt.After(now) {
			continue // already over
		}
		end := now
		if w.OpensAt.After(end) {
			end = w.OpensAt // never opened: an empty window
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(
			"UPDATE collection_windows SET ends_at = ?, closed_at = ?, closed_by = ? WHERE id = ?"),
			end, now, actor, w.ID); err != nil {
			return fmt.Errorf("close collection window: %w", err)
		}
		w.EndsAt, w.ClosedAt, w.ClosedBy = end, &now, actor
		ended = append(ended, w)
	}
	if len(ended) == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM collected_pairs WHERE case_id = ? AND at >= ?"), c.ID, now)
	if err != nil {
		return fmt.Errorf("discard pairs after the close: %w", err)
	}
	discarded, _ := res.RowsAffected()
	return s.db.Audit(ctx, tx, actor, "collection.close", "case", strconv.FormatInt(c.ID, 10), nil,
		map[string]any{"windows": ended, "closed_at": now, "discarded_pairs": discarded})
}

func bumpVersion(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, "UPDATE collection_state SET version = version + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("advance collection state: %w", err)
	}
	return nil
}

// stateVersion reads the window state's version; under lock, it holds off
// any window change until tx ends.
func stateVersion(ctx context.Context, q queryer, dialect store.Dialect, lock bool) (int64, error) {
	query := "SELECT version FROM collection_state WHERE id = 1"
	if lock && dialect == store.Postgres {
		query += " FOR SHARE"
	}
	var v int64
	if err := sqlx.GetContext(ctx, q, &v, query); err != nil {
		return 0, fmt.Errorf("read collection state: %w", err)
	}
	return v, nil
}
