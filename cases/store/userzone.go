package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// SetUserZone sets the time zone the portal shows user id times in ("" for
// the organisation's), audited as user.time_zone with the zone it
// replaces. An unknown zone is EINVALID naming time_zone, and nothing is
// written. Who may change whose zone is the caller's check.
func (db *DB) SetUserZone(ctx context.Context, actor string, id int64, name string) (*cases.User, error) {
	name = strings.TrimSpace(name)
	if name != "" {
		loc, err := cases.LoadZone(name)
		if err != nil {
			return nil, cases.Invalid(map[string]string{"time_zone": err.Error()})
		}
		name = loc.String()
	}
	var after *cases.User
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		before, err := db.userByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.TimeZone == name {
			after = before
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET time_zone = ? WHERE id = ?"), name, id); err != nil {
			return err
		}
		if after, err = db.userByID(ctx, tx, id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "user.time_zone", "user", strconv.FormatInt(id, 10),
			map[string]string{"time_zone": before.TimeZone}, map[string]string{"time_zone": name})
	})
	return after, err
}
