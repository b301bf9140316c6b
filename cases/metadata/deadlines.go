package metadata

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Deadline is a case whose prospective collection ends, or whose
// preservation hold runs out, soon: the dashboard's reminders, across
// cases, soonest first.
type Deadline struct {
	CaseID int64     `db:"case_id"`
	Number string    `db:"number"`
	At     time.Time `db:"at"`
	// Count is the case's windows ending in the range (collection) or its
	// preserved records (preservation).
	Count int64 `db:"n"`
	// Extended says a preservation hold has had its one extension.
	Extended bool `db:"extended"`
}

// ClosingWindows lists the cases with a collection window that is open at
// from and ends before to: the order must be renewed, or collection stops.
// A case appears once, at its first window to end; at most limit cases, and
// whether there are more.
func (s *Store) ClosingWindows(ctx context.Context, from, to time.Time, limit int) ([]Deadline, bool, error) {
	// One row per window (a case has one per target and category), grouped
	// here: an aggregate's time would reach Go untyped from SQLite.
	var rows []Deadline
	q := s.db.Reader()
	if err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(`SELECT w.case_id, c.number, w.ends_at AS at, 1 AS n, FALSE AS extended
		FROM collection_windows w JOIN cases c ON c.id = w.case_id
		WHERE w.ends_at > ? AND w.ends_at <= ? AND w.opens_at <= ?
		ORDER BY w.ends_at, w.case_id`), from, to, from); err != nil {
		return nil, false, fmt.Errorf("read closing collection windows: %w", err)
	}
	var out []Deadline
	seen := map[int64]int{}
	for _, r := range rows {
		if i, ok := seen[r.CaseID]; ok {
			out[i].Count++
			continue
		}
		r.At = r.At.UTC()
		seen[r.CaseID] = len(out)
		out = append(out, r)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// ExpiringHolds lists the preservation holds still in force at from that
// end before to, soonest first: a hold not yet extended can be extended
// once on a renewed request. At most limit, and whether there are more.
func (s *Store) ExpiringHolds(ctx context.Context, from, to time.Time, limit int) ([]Deadline, bool, error) {
	var rows []Deadline
	q := s.db.Reader()
	if err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(`SELECT p.case_id, c.number, p.preserve_until AS at, p.records AS n,
		p.extended_at IS NOT NULL AS extended
		FROM preservations p JOIN cases c ON c.id = p.case_id
		WHERE p.purged_at IS NULL AND p.preserve_until > ? AND p.preserve_until <= ?
		ORDER BY p.preserve_until, p.case_id LIMIT ?`), from, to, limit+1); err != nil {
		return nil, false, fmt.Errorf("read expiring preservation holds: %w", err)
	}
	for i := range rows {
		rows[i].At = rows[i].At.UTC()
	}
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}
