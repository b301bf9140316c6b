package metadata

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// onReopen runs inside the transaction of a supervisor's reopen: each
// collection window the close or withdrawal stopped early gets its
// authorised end back (ClosesAt) when that is still ahead, so collection
// resumes; one that would have ended anyway stays ended. Audited as
// collection.reopen with the windows.
func (s *Store) onReopen(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case) error {
	if err := bumpVersion(ctx, tx); err != nil {
		return err
	}
	now := s.db.Now()
	ws, err := windowsOf(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	var reopened []Window
	for _, w := range ws {
		if w.ClosedAt == nil || !w.ClosesAt.After(now) {
			continue
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(
			"UPDATE collection_windows SET ends_at = closes_at, closed_at = NULL, closed_by = '' WHERE id = ?"), w.ID); err != nil {
			return fmt.Errorf("reopen collection window: %w", err)
		}
		w.EndsAt, w.ClosedAt, w.ClosedBy = w.ClosesAt, nil, ""
		reopened = append(reopened, w)
	}
	if len(reopened) == 0 {
		return nil
	}
	return s.db.Audit(ctx, tx, actor, "collection.reopen", "case", strconv.FormatInt(c.ID, 10), nil,
		map[string]any{"windows": reopened, "reopened_at": now})
}
