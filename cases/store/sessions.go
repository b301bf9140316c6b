package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"envelope/cases"
)

// Sign-in policy for the portal. They are variables so that a deployment (or
// a test) can tighten them; they are read on every call.
var (
	// SessionIdleTimeout ends a session that has not been used for this long.
	SessionIdleTimeout = 30 * time.Minute
	// SessionAbsoluteTimeout ends a session this long after sign-in, however
	// busy it is.
	SessionAbsoluteTimeout = 12 * time.Hour
	// MaxFailedLogins is how many wrong passwords in a row lock an account.
	MaxFailedLogins = 5
	// LockoutBase is how long the first lockout lasts; each further failure
	// while at or over the limit doubles it, up to LockoutMax.
	LockoutBase = time.Minute
	// LockoutMax caps a lockout.
	LockoutMax = time.Hour
)

// sessionTouchEvery bounds how often a session's last-seen time is written:
// a page view within this of the last write does not write again, which
// keeps reads from queueing behind SQLite's single writer.
const sessionTouchEvery = time.Minute

// ErrBadLogin is the one answer to a wrong email or a wrong password, so the
// sign-in form never tells which accounts exist.
var ErrBadLogin = cases.Errorf(cases.EUNAUTHORIZED, "wrong email or password")

// LockedError says an account is locked after too many failed sign-ins.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: this account is locked until %s UTC", e.Until.UTC().Format("15:04:05"))
}

// dummyHash is compared against when the email is unknown, so that a sign-in
// takes as long for an unknown account as for a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("envelope-no-such-user"), bcrypt.DefaultCost)
	return h
})

type authRow struct {
	cases.User
	PasswordHash string       `db:"password_hash"`
	FailedLogins int          `db:"failed_logins"`
	LockedUntil  sql.NullTime `db:"locked_until"`
}

func (db *DB) authRow(ctx context.Context, q sqlx.QueryerContext, email string) (*authRow, error) {
	var row authRow
	err := sqlx.GetContext(ctx, q, &row, db.w.Rebind("SELECT "+userColumns+
		", password_hash, failed_logins, locked_until FROM users WHERE email = ?"), email)
	if err != nil {
		return nil, err
	}
	row.CreatedAt = row.CreatedAt.UTC()
	return &row, nil
}

// Authenticate checks an email and password. Every attempt is audited
// (login.success, login.fail, login.locked). After MaxFailedLogins wrong
// passwords in a row the account is locked for LockoutBase, doubling with
// each further failure up to LockoutMax; while locked, even the right
// password is refused (a *LockedError), so guessing gains nothing. A
// success resets the count.
//
// The attempt is counted before its password is checked (claimAttempt), so
// of any number of guesses at once only MaxFailedLogins are checked: the
// rest find the account locked.
func (db *DB) Authenticate(ctx context.Context, email, password string) (*cases.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 320 {
		email = email[:320]
	}
	if cases.TextProblem(email) != "" {
		email = "" // no account has it; PostgreSQL could not even look it up
	}
	now := db.Now()
	row, err := db.authRow(ctx, db.r, email)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			// Only a hash of the email: a mistyped password in the email
			// field must not end up in the audit log in clear.
			return db.Audit(ctx, tx, cases.System, "login.fail", "login", "sha256:"+hashToken(email)[:16], nil, map[string]any{"reason": "unknown email"})
		}); err != nil {
			return nil, err
		}
		return nil, ErrBadLogin
	} else if err != nil {
		return nil, err
	}
	uid := strconv.FormatInt(row.ID, 10)
	failed, until, err := db.claimAttempt(ctx, row.ID, now)
	if err != nil {
		return nil, err
	}
	if failed == 0 { // locked: no password is checked, but as long is spent
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.Audit(ctx, tx, email, "login.locked", "user", uid, nil, map[string]any{"locked_until": until})
		}); err != nil {
			return nil, err
		}
		return nil, &LockedError{Until: until}
	}
	if bcrypt.CompareHashAndPassword([]byte(row.PasswordHash), []byte(password)) != nil {
		after := map[string]any{"failed_logins": failed}
		var lockErr error
		if !until.IsZero() {
			after["locked_until"] = until
			lockErr = &LockedError{Until: until}
		}
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.Audit(ctx, tx, email, "login.fail", "user", uid, nil, after)
		}); err != nil {
			return nil, err
		}
		if lockErr != nil {
			return nil, lockErr
		}
		return nil, ErrBadLogin
	}
	if row.Disabled {
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.Audit(ctx, tx, email, "login.fail", "user", uid, nil, map[string]any{"reason": "disabled"})
		}); err != nil {
			return nil, err
		}
		return nil, ErrBadLogin
	}
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?"), row.ID); err != nil {
			return err
		}
		return db.Audit(ctx, tx, email, "login.success", "user", uid, nil, nil)
	})
	if err != nil {
		return nil, err
	}
	u := row.User
	return &u, nil
}

// CreateSession starts a portal session for a user and returns its ID, to be
// sent as a cookie; only the ID's SHA-256 is stored.
//
// The session has passed the password only: where a second factor is due
// (StaffSession.Pending) it may do nothing else until PassSecondFactor or
// a passkey marks it.
func (db *DB) CreateSession(ctx context.Context, userID int64) (string, error) {
	return db.createSession(ctx, userID, false)
}

// CreateSingleSignOnSession starts a session for a user the single sign-on
// provider signed in: the provider's sign-in stands for both factors.
func (db *DB) CreateSingleSignOnSession(ctx context.Context, userID int64) (string, error) {
	return db.createSession(ctx, userID, true)
}

func (db *DB) createSession(ctx context.Context, userID int64, secondFactor bool) (string, error) {
	token := randomToken(32)
	now := db.Now()
	_, err := db.w.ExecContext(ctx, db.w.Rebind(`INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, second_factor)
		VALUES (?, ?, ?, ?, ?, ?)`), hashToken(token), userID, now, now, now.Add(SessionAbsoluteTimeout), secondFactor)
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionUser returns the user of a live session and marks the session as
// used. A session is live if it is known, not revoked, younger than
// SessionAbsoluteTimeout, used within SessionIdleTimeout, and its user is
// not disabled. It says nothing of the second factor: the portal gates on
// StaffSession.
func (db *DB) SessionUser(ctx context.Context, token string) (*cases.User, error) {
	st, err := db.StaffSession(ctx, token)
	if err != nil {
		return nil, err
	}
	return st.User, nil
}

// RevokeSession ends a session (sign-out), audited. An unknown or already
// ended session is not an error: signing out twice is harmless.
func (db *DB) RevokeSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var s struct {
			ID     int64  `db:"id"`
			UserID int64  `db:"user_id"`
			Email  string `db:"email"`
		}
		err := tx.GetContext(ctx, &s, tx.Rebind(`SELECT s.id, s.user_id, u.email FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.token_hash = ? AND s.revoked_at IS NULL`), hashToken(token))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE sessions SET revoked_at = ? WHERE id = ?"), db.Now(), s.ID); err != nil {
			return err
		}
		return db.Audit(ctx, tx, s.Email, "logout", "user", strconv.FormatInt(s.UserID, 10), nil, nil)
	})
}

// ChangePassword replaces a user's password after checking the current one,
// clears must_change_password, and ends every other session of the user
// (keep is the session ID to keep, "" for none).
func (db *DB) ChangePassword(ctx context.Context, u *cases.User, current, next, keep string) error {
	row, err := db.authRow(ctx, db.r, u.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Errorf(cases.ENOTFOUND, "no user %s", u.Email)
	} else if err != nil {
		return err
	}
	f := map[string]string{}
	if bcrypt.CompareHashAndPassword([]byte(row.PasswordHash), []byte(current)) != nil {
		f["current"] = "is not your current password"
	}
	switch {
	case len(next) < MinPasswordLength:
		f["password"] = fmt.Sprintf("must be at least %d characters", MinPasswordLength)
	case len(next) > 72:
		f["password"] = "must be at most 72 bytes"
	case next == current:
		f["password"] = "must differ from the current password"
	case strings.EqualFold(next, u.Email):
		f["password"] = "must not be your email address"
	}
	if len(f) > 0 {
		return cases.Invalid(f)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?"),
			string(hash), false, row.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND token_hash <> ?"),
			db.Now(), row.ID, hashToken(keep))
		if err != nil {
			return err
		}
		ended, _ := res.RowsAffected()
		return db.Audit(ctx, tx, u.Email, "user.password", "user", strconv.FormatInt(row.ID, 10), nil,
			map[string]any{"must_change_password": false, "sessions_ended": ended})
	})
}
