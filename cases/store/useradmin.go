package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"envelope/cases"
)

// Account administration: an admin changes a user's role, disables or
// enables the account, or issues a new one-time password. Each is one
// audited transaction.

// UpdateUser sets a user's role and whether the account is disabled.
// Disabling ends the user's sessions and revokes their API tokens in the
// same transaction, so nothing they hold works a moment longer; a role
// change takes effect on their next request (every request reads the role).
// The last enabled admin can be neither disabled nor given another role:
// no one could manage users afterwards. No one changes their own role or
// access: that would make one person the two of four eyes.
func (db *DB) UpdateUser(ctx context.Context, actor string, id int64, role cases.Role, disabled bool) (*cases.User, error) {
	if !role.Valid() {
		return nil, cases.Invalid(map[string]string{"role": fmt.Sprintf("%q is not a role (one of intake, reviewer, supervisor, auditor, admin, collector)", role)})
	}
	var after *cases.User
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		before, err := db.userByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.Role == role && before.Disabled == disabled {
			after = before
			return nil
		}
		if before.Role == cases.RoleAdmin && !before.Disabled && (role != cases.RoleAdmin || disabled) {
			// Locked, not counted: on PostgreSQL two admins removing each
			// other at once would each count two and both succeed; the
			// second now waits for the first and reads the admins left.
			var admins []int64
			if err := tx.SelectContext(ctx, &admins, tx.Rebind("SELECT id FROM users WHERE role = ? AND NOT disabled"+db.lockRow()), cases.RoleAdmin); err != nil {
				return err
			}
			if len(admins) <= 1 {
				return cases.Errorf(cases.ECONFLICT, "%s is the last enabled admin: add another admin first", before.Email)
			}
		}
		if strings.EqualFold(before.Email, actor) {
			// An admin who made itself a supervisor would approve what the
			// accounts it made recorded, alone (four eyes).
			return cases.Errorf(cases.ECONFLICT, "%s cannot change their own role or access: another admin does it", before.Email)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET role = ?, disabled = ? WHERE id = ?"), role, disabled, id); err != nil {
			return err
		}
		change := map[string]any{"role": role, "disabled": disabled}
		if disabled && !before.Disabled {
			ended, revoked, err := db.endAccess(ctx, tx, id)
			if err != nil {
				return err
			}
			change["sessions_ended"], change["tokens_revoked"] = ended, revoked
		}
		if after, err = db.userByID(ctx, tx, id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "user.update", "user", strconv.FormatInt(id, 10),
			map[string]any{"role": before.Role, "disabled": before.Disabled}, change)
	})
	return after, err
}

// ResetPassword gives a user a new random one-time password, which it
// returns (shown once; only its hash is kept), to be changed at the next
// sign-in; the user's sessions end. For a user who forgot their password or
// may have had it seen.
func (db *DB) ResetPassword(ctx context.Context, actor string, id int64) (*cases.User, string, error) {
	password, hash, err := oneTimePassword()
	if err != nil {
		return nil, "", err
	}
	var u *cases.User
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		if u, err = db.userByID(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET password_hash = ?, must_change_password = ?, failed_logins = 0, locked_until = NULL WHERE id = ?"),
			string(hash), true, id); err != nil {
			return err
		}
		ended, err := db.endSessions(ctx, tx, id)
		if err != nil {
			return err
		}
		u.MustChangePassword = true
		return db.Audit(ctx, tx, actor, "user.password_reset", "user", strconv.FormatInt(id, 10), nil,
			map[string]any{"must_change_password": true, "sessions_ended": ended})
	})
	if err != nil {
		return nil, "", err
	}
	return u, password, nil
}

// endAccess ends every session and revokes every API token of a user.
func (db *DB) endAccess(ctx context.Context, tx *sqlx.Tx, id int64) (sessions, tokens int64, err error) {
	if sessions, err = db.endSessions(ctx, tx, id); err != nil {
		return 0, 0, err
	}
	if tokens, err = db.revokeTokens(ctx, tx, id); err != nil {
		return 0, 0, err
	}
	return sessions, tokens, nil
}

// revokeTokens revokes every API token of a user.
func (db *DB) revokeTokens(ctx context.Context, tx *sqlx.Tx, id int64) (int64, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"), db.Now(), id)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// endSessions ends every portal session of a user.
func (db *DB) endSessions(ctx context.Context, tx *sqlx.Tx, id int64) (int64, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"), db.Now(), id)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// oneTimePassword makes a random password for a new or reset account and
// its bcrypt hash (the only form kept).
func oneTimePassword() (password string, hash []byte, err error) {
	password = randomToken(12)
	hash, err = bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return password, hash, err
}
