package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// HeldSQL is an SQL condition, true for a case (its ID in the column col)
// while a legal hold (the legal_holds table, managed by cases/retention)
// stands on it. Every purge, of retention or of an expired preservation,
// asks this one condition, so none can forget a hold.
func HeldSQL(col string) string {
	return "EXISTS (SELECT 1 FROM legal_holds lh WHERE lh.case_id = " + col + " AND lh.released_at IS NULL)"
}

// LockCase takes the case's row for the rest of tx. Placing or releasing a
// legal hold and every purge of the case take it first: on PostgreSQL a
// purge that starts while a hold is being placed then waits for it and
// sees it, the audit log orders them as they happened, and of two people
// placing or releasing a hold at once the second sees what the first did.
// SQLite's write transactions are serial already.
func (db *DB) LockCase(ctx context.Context, tx *sqlx.Tx, id int64) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT id FROM cases WHERE id = $1"+db.lockRow(), id); err != nil {
		return fmt.Errorf("lock case %d: %w", id, err)
	}
	return nil
}
