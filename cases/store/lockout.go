package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// claimAttempt counts one sign-in attempt of user id against its lockout
// before the password is checked, and returns the count, and when the
// account is locked until if this attempt is the one that locks it (it
// stays locked if the password proves wrong; a right one unlocks it).
// If the account is locked already it counts nothing and returns 0 and the
// time the lock ends.
//
// The check and the count are one conditional UPDATE: the row lock it
// takes makes a concurrent attempt wait, then re-read the row and find it
// locked. Reading the row, checking the password and then counting let 30
// guesses sent at once all be checked (issue 18). The lock's end is set in
// the same transaction, still holding the row: its length depends on the
// count, which the UPDATE is what returns.
func (db *DB) claimAttempt(ctx context.Context, id int64, now time.Time) (failed int, until time.Time, err error) {
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		failed, until = 0, time.Time{}
		err := tx.GetContext(ctx, &failed, tx.Rebind(`UPDATE users SET failed_logins = failed_logins + 1
			WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?) RETURNING failed_logins`), id, now)
		if errors.Is(err, sql.ErrNoRows) {
			var locked sql.NullTime
			if err := tx.GetContext(ctx, &locked, tx.Rebind("SELECT locked_until FROM users WHERE id = ?"), id); err != nil {
				return err
			}
			until = locked.Time.UTC()
			return nil
		} else if err != nil {
			return err
		}
		if failed < MaxFailedLogins {
			return nil
		}
		d := LockoutBase << min(failed-MaxFailedLogins, 20)
		if d > LockoutMax || d <= 0 {
			d = LockoutMax
		}
		until = now.Add(d)
		_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE users SET locked_until = ? WHERE id = ?"), until, id)
		return err
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count the sign-in attempt: %w", err)
	}
	return failed, until, nil
}
