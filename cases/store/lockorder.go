package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// lockCollection takes the collection state row (collection_state, kept by
// cases/metadata) for the rest of tx, before any case row or the audit head:
// step 1 of the lock order in the package doc. An approval or a close whose
// hooks will open or end collection windows takes it first, as a collector
// does, so neither can hold the audit head while waiting for the state that
// a collector holds while waiting for a case row. SQLite's write
// transactions are serial already.
func (db *DB) lockCollection(ctx context.Context, tx *sqlx.Tx) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT version FROM collection_state WHERE id = 1 FOR UPDATE"); err != nil {
		return fmt.Errorf("lock the collection state: %w", err)
	}
	return nil
}
