package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// ActivateClockRules records a clock rules file (policy/clock: its version
// and source) as the one in force from now on, audited as clock.activate
// with the version it replaces. As for policies, the caller has loaded
// and checked it: the store does not parse it.
func (db *DB) ActivateClockRules(ctx context.Context, actor, version string, source []byte, previous string) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO clock_rules (version, source, activated_by, activated_at)
			VALUES (?, ?, ?, ?) RETURNING id`), version, string(source), actor, db.Now()); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "clock.activate", "clock_rules", strconv.FormatInt(id, 10),
			map[string]string{"version": previous}, map[string]string{"version": version})
	})
}

// ActiveClockRules returns the source of the clock rules activated last, or
// ok false if none ever were (the embedded default is then in force).
func (db *DB) ActiveClockRules(ctx context.Context) (source []byte, ok bool, err error) {
	var s string
	err = db.r.GetContext(ctx, &s, "SELECT source FROM clock_rules ORDER BY id DESC LIMIT 1")
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	return []byte(s), true, nil
}
