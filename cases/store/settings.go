package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// settingTimeZone is the settings row holding the organisation's time zone.
const settingTimeZone = "time_zone"

// OrgZone returns the organisation's time zone: the one an administrator
// set, or cases.DefaultZone (UTC) if none was ever set.
func (db *DB) OrgZone(ctx context.Context) (*time.Location, error) {
	var name string
	err := db.r.GetContext(ctx, &name, db.r.Rebind("SELECT value FROM settings WHERE key = ?"), settingTimeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return time.UTC, nil
	} else if err != nil {
		return nil, err
	}
	loc, err := cases.LoadZone(name)
	if err != nil { // a zone the running Go no longer knows: say so rather than guess
		return nil, cases.Errorf(cases.EINTERNAL, "the organisation's time zone %q cannot be loaded: %v", name, err)
	}
	return loc, nil
}

// SetOrgZone sets the organisation's time zone, audited with the zone it
// replaces. An unknown zone is EINVALID naming the field time_zone.
func (db *DB) SetOrgZone(ctx context.Context, actor, name string) error {
	loc, err := cases.LoadZone(name)
	if err != nil {
		return cases.Invalid(map[string]string{"time_zone": err.Error()})
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var old string
		err := tx.GetContext(ctx, &old, tx.Rebind("SELECT value FROM settings WHERE key = ?"+db.lockRow()), settingTimeZone)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			old = cases.DefaultZone
			_, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)"),
				settingTimeZone, loc.String(), actor, db.Now())
		case err == nil:
			if old == loc.String() {
				return nil
			}
			_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE settings SET value = ?, updated_by = ?, updated_at = ? WHERE key = ?"),
				loc.String(), actor, db.Now(), settingTimeZone)
		}
		if err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "settings.time_zone", "settings", settingTimeZone,
			map[string]string{"time_zone": old}, map[string]string{"time_zone": loc.String()})
	})
}
