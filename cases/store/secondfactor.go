package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// Strong sign-in (issue 14): staff TOTP, passkeys and recovery codes for
// staff and officers, and the roles that must use a second factor. The
// store knows neither TOTP nor WebAuthn: the portal checks codes (a
// CodeCheck) and assertions, and the store counts, spends and records.

// UserOwner and OfficerOwner name whose passkey or recovery code a row is:
// the two kinds of account never share one.
func UserOwner(id int64) string    { return "user:" + strconv.FormatInt(id, 10) }
func OfficerOwner(id int64) string { return "officer:" + strconv.FormatInt(id, 10) }

// ErrBadCode is the one answer to a wrong, replayed or spent second-factor
// code; the audit log has which it was.
var ErrBadCode = cases.Errorf(cases.EUNAUTHORIZED, "wrong code")

// SecondFactorRoles returns, for every staff role, whether it must sign in
// with a second factor.
func (db *DB) SecondFactorRoles(ctx context.Context) (map[cases.Role]bool, error) {
	var rows []struct {
		Role     cases.Role `db:"role"`
		Required bool       `db:"required"`
	}
	if err := db.r.SelectContext(ctx, &rows, "SELECT role, required FROM second_factor_roles"); err != nil {
		return nil, err
	}
	out := map[cases.Role]bool{}
	for _, r := range rows {
		out[r.Role] = r.Required
	}
	return out, nil
}

// SetSecondFactorRoles sets which roles must use a second factor: the roles
// in required, and no other. It is audited (settings.second_factor) with
// the setting it replaces. A user of a role that now requires one and has
// none is sent to enrolment at their next page.
func (db *DB) SetSecondFactorRoles(ctx context.Context, actor string, required []cases.Role) error {
	want := map[cases.Role]bool{}
	for _, r := range required {
		if !r.Valid() {
			return cases.Invalid(map[string]string{"roles": strconv.Quote(string(r)) + " is not a role"})
		}
		want[r] = true
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		before := map[cases.Role]bool{}
		var rows []struct {
			Role     cases.Role `db:"role"`
			Required bool       `db:"required"`
		}
		if err := tx.SelectContext(ctx, &rows, "SELECT role, required FROM second_factor_roles"+db.lockRow()); err != nil {
			return err
		}
		for _, r := range rows {
			before[r.Role] = r.Required
		}
		changed := false
		for _, r := range cases.Roles {
			if b, ok := before[r]; ok && b == want[r] {
				continue
			}
			changed = true
			res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE second_factor_roles SET required = ?, updated_by = ?, updated_at = ? WHERE role = ?"),
				want[r], actor, db.Now(), string(r))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO second_factor_roles (role, required, updated_by, updated_at) VALUES (?, ?, ?, ?)"),
					string(r), want[r], actor, db.Now()); err != nil {
					return err
				}
			}
		}
		if !changed {
			return nil
		}
		after := map[cases.Role]bool{}
		for _, r := range cases.Roles {
			after[r] = want[r]
		}
		return db.Audit(ctx, tx, actor, "settings.second_factor", "settings", "second_factor_roles", before, after)
	})
}

// StaffSession is a live portal session and where it stands with the
// second factor.
type StaffSession struct {
	User *cases.User
	// Passed: the second factor was passed in this session (or the session
	// came from single sign-on, whose provider stands for it).
	Passed bool
	// Enrolled: the user has TOTP or a passkey; TOTP: the former.
	Enrolled, TOTP bool
	// Required: the user's role must use a second factor.
	Required bool
}

// Pending reports whether the session has passed only the password while a
// second factor is due: the user has one, or their role requires one. Such
// a session may reach the second-factor step and enrolment, nothing else.
func (s *StaffSession) Pending() bool { return !s.Passed && (s.Enrolled || s.Required) }

// MayEnrol reports whether the session may add a second factor: one that
// passed it, or a user who has none yet. A password alone never adds a
// factor to an account that has one.
func (s *StaffSession) MayEnrol() bool { return s.Passed || !s.Enrolled }

// StaffSession returns a live session (see SessionUser) with its second
// factor state.
func (db *DB) StaffSession(ctx context.Context, token string) (*StaffSession, error) {
	ended := cases.Errorf(cases.EUNAUTHORIZED, "your session has ended: sign in again")
	if token == "" {
		return nil, ended
	}
	var row struct {
		cases.User
		SessionID int64     `db:"session_id"`
		LastSeen  time.Time `db:"last_seen_at"`
		Passed    bool      `db:"second_factor"`
		TOTP      bool      `db:"totp"`
		Passkey   bool      `db:"passkey"`
		Required  bool      `db:"required"`
	}
	now := db.Now()
	err := db.r.GetContext(ctx, &row, db.r.Rebind(`SELECT u.id, u.email, u.role, u.must_change_password, u.disabled, u.created_at, u.time_zone,
		s.id AS session_id, s.last_seen_at, s.second_factor,
		u.totp_enrolled_at IS NOT NULL AS totp,
		EXISTS (SELECT 1 FROM passkeys p WHERE p.owner = 'user:' || CAST(u.id AS TEXT)) AS passkey,
		COALESCE((SELECT r.required FROM second_factor_roles r WHERE r.role = u.role), TRUE) AS required
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND s.last_seen_at > ? AND NOT u.disabled`),
		hashToken(token), now, now.Add(-SessionIdleTimeout))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ended
	} else if err != nil {
		return nil, err
	}
	if now.Sub(row.LastSeen) >= sessionTouchEvery {
		if _, err := db.w.ExecContext(ctx, db.w.Rebind("UPDATE sessions SET last_seen_at = ? WHERE id = ?"), now, row.SessionID); err != nil {
			return nil, err
		}
	}
	u := row.User
	u.CreatedAt = u.CreatedAt.UTC()
	return &StaffSession{User: &u, Passed: row.Passed, Enrolled: row.TOTP || row.Passkey, TOTP: row.TOTP, Required: row.Required}, nil
}

// OfferUserTOTP stores a TOTP secret offered to a user for enrolment; it
// counts only once EnrolUserTOTP has seen a code from it.
func (db *DB) OfferUserTOTP(ctx context.Context, userID int64, secret string) error {
	_, err := db.w.ExecContext(ctx, db.w.Rebind("UPDATE users SET totp_secret = ? WHERE id = ? AND totp_enrolled_at IS NULL"), secret, userID)
	return err
}

// UserTOTPSecret returns the user's pending or enrolled TOTP secret.
func (db *DB) UserTOTPSecret(ctx context.Context, userID int64) (string, error) {
	var s string
	err := db.r.GetContext(ctx, &s, db.r.Rebind("SELECT totp_secret FROM users WHERE id = ?"), userID)
	return s, err
}

// EnrolUserTOTP completes a user's TOTP enrolment with a code of the
// offered secret, from a session that may enrol (StaffSession.MayEnrol),
// and marks that session as having passed the second factor. Audited
// (user.totp.enrol).
func (db *DB) EnrolUserTOTP(ctx context.Context, session, code string, check CodeCheck) error {
	st, err := db.StaffSession(ctx, session)
	if err != nil {
		return err
	}
	if !st.MayEnrol() {
		return cases.Errorf(cases.EFORBIDDEN, "pass your second factor before adding another")
	}
	secret, err := db.UserTOTPSecret(ctx, st.User.ID)
	if err != nil {
		return err
	}
	now := db.Now()
	step := int64(0)
	if secret != "" {
		step = check(secret, strings.TrimSpace(code), now)
	}
	if step == 0 {
		return cases.Invalid(map[string]string{"code": "is not the current code of the authenticator app"})
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET totp_enrolled_at = ?, totp_last_step = ? WHERE id = ? AND totp_enrolled_at IS NULL"), now, step, st.User.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return cases.Errorf(cases.ECONFLICT, "an authenticator app is already set up")
		}
		if err := db.passSession(ctx, tx, StaffSessions, session); err != nil {
			return err
		}
		return db.Audit(ctx, tx, st.User.Email, "user.totp.enrol", "user", strconv.FormatInt(st.User.ID, 10), nil, map[string]any{"enrolled_at": now})
	})
}

// SessionKind says which sessions a ceremony belongs to: the staff
// portal's or the agency portal's.
type SessionKind struct{ table, passed string }

var (
	StaffSessions   = SessionKind{table: "sessions", passed: "second_factor"}
	OfficerSessions = SessionKind{table: "officer_sessions", passed: "mfa"}
)

func (db *DB) passSession(ctx context.Context, tx *sqlx.Tx, k SessionKind, session string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE "+k.table+" SET "+k.passed+" = ? WHERE token_hash = ?"), true, hashToken(session))
	return err
}

// SetChallenge keeps the WebAuthn ceremony a session has begun (one at a
// time: a new one replaces it).
func (db *DB) SetChallenge(ctx context.Context, k SessionKind, session, data string) error {
	_, err := db.w.ExecContext(ctx, db.w.Rebind("UPDATE "+k.table+" SET challenge = ? WHERE token_hash = ?"), data, hashToken(session))
	return err
}

// TakeChallenge returns the session's ceremony and forgets it, so an
// answer to a challenge is accepted once. No ceremony is EINVALID.
func (db *DB) TakeChallenge(ctx context.Context, k SessionKind, session string) (string, error) {
	var data string
	err := db.w.GetContext(ctx, &data, db.w.Rebind("SELECT challenge FROM "+k.table+" WHERE token_hash = ?"), hashToken(session))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	if data != "" {
		res, err := db.w.ExecContext(ctx, db.w.Rebind("UPDATE "+k.table+" SET challenge = '' WHERE token_hash = ? AND challenge = ?"), hashToken(session), data)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return data, nil
		}
	}
	return "", cases.Invalid(map[string]string{"passkey": "no passkey request is open: start again"})
}

// RecoveryCodeCount is how many recovery codes an enrolment gives.
const RecoveryCodeCount = 10

var recoveryAlphabet = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// normalRecovery is a recovery code as stored: lower case, without the
// dash and spaces people type.
func normalRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
}

// NewRecoveryCodes replaces owner's recovery codes with RecoveryCodeCount
// new ones and returns them, to be shown once: only their SHA-256 is kept
// (each has 50 random bits, so a hash cannot be searched back). Audited
// (recovery_codes.create) without the codes.
func (db *DB) NewRecoveryCodes(ctx context.Context, actor, owner string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, 7)
		rand.Read(b)
		s := recoveryAlphabet.EncodeToString(b)[:10]
		codes[i] = s[:5] + "-" + s[5:]
	}
	now := db.Now()
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM recovery_codes WHERE owner = ?"), owner); err != nil {
			return err
		}
		for _, c := range codes {
			if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO recovery_codes (owner, code_hash, created_at) VALUES (?, ?, ?)"),
				owner, hashToken(normalRecovery(c)), now); err != nil {
				return err
			}
		}
		return db.Audit(ctx, tx, actor, "recovery_codes.create", "account", owner, nil, map[string]any{"count": len(codes)})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// RecoveryCodesLeft counts owner's unspent recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, owner string) (int, error) {
	var n int
	err := db.r.GetContext(ctx, &n, db.r.Rebind("SELECT COUNT(*) FROM recovery_codes WHERE owner = ? AND used_at IS NULL"), owner)
	return n, err
}

// spendRecoveryCode spends one of owner's recovery codes in tx, reporting
// whether it was an unspent one. The conditional UPDATE is the check, so
// two uses at once cannot both pass.
func (db *DB) spendRecoveryCode(ctx context.Context, tx *sqlx.Tx, owner, code string) (bool, error) {
	code = normalRecovery(code)
	if len(code) != 10 {
		return false, nil
	}
	res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE recovery_codes SET used_at = ? WHERE owner = ? AND code_hash = ? AND used_at IS NULL"),
		db.Now(), owner, hashToken(code))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// isTOTPCode tells a six-digit authenticator code from a recovery code.
func isTOTPCode(code string) bool {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// PassSecondFactor checks the second step of a staff sign-in: a TOTP code
// or a recovery code, for a session that passed the password. A right one
// marks the session as passed (login.second_factor, with the method); a
// recovery code is spent.
//
// Each try counts against the account's lockout exactly as a password
// does, before the code is checked (claimAttempt): 30 codes sent at once
// are 30 failures, of which only MaxFailedLogins are checked, and a locked
// account is refused the right code too (a *LockedError).
func (db *DB) PassSecondFactor(ctx context.Context, session, code string, check CodeCheck) (*cases.User, error) {
	st, err := db.StaffSession(ctx, session)
	if err != nil {
		return nil, err
	}
	u := st.User
	if !st.Pending() {
		return u, nil
	}
	if !st.Enrolled {
		return nil, cases.Errorf(cases.EFORBIDDEN, "set up a second factor first")
	}
	uid := strconv.FormatInt(u.ID, 10)
	now := db.Now()
	failed, until, err := db.claimAttempt(ctx, u.ID, now)
	if err != nil {
		return nil, err
	}
	if failed == 0 {
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.Audit(ctx, tx, u.Email, "login.second_factor.locked", "user", uid, nil, map[string]any{"locked_until": until})
		}); err != nil {
			return nil, err
		}
		return nil, &LockedError{Until: until}
	}
	var step int64
	if isTOTPCode(code) {
		secret, err := db.enrolledSecret(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		step = check(secret, strings.TrimSpace(code), now)
	}
	ok := false
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		method := "totp"
		if step > 0 {
			// A step later than the last one used: a code seen once is
			// not accepted again.
			res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?"), step, u.ID, step)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			ok = n == 1
		} else if !isTOTPCode(code) {
			method = "recovery_code"
			if ok, err = db.spendRecoveryCode(ctx, tx, UserOwner(u.ID), code); err != nil {
				return err
			}
		}
		if !ok {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?"), u.ID); err != nil {
			return err
		}
		if err := db.passSession(ctx, tx, StaffSessions, session); err != nil {
			return err
		}
		after := map[string]any{"method": method}
		if method == "recovery_code" {
			var left int
			if err := tx.GetContext(ctx, &left, tx.Rebind("SELECT COUNT(*) FROM recovery_codes WHERE owner = ? AND used_at IS NULL"), UserOwner(u.ID)); err != nil {
				return err
			}
			after["recovery_codes_left"] = left
		}
		return db.Audit(ctx, tx, u.Email, "login.second_factor", "user", uid, nil, after)
	})
	if err != nil {
		return nil, err
	}
	if ok {
		return u, nil
	}
	after := map[string]any{"failed_logins": failed}
	if !until.IsZero() {
		after["locked_until"] = until
	}
	if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		return db.Audit(ctx, tx, u.Email, "login.second_factor.fail", "user", uid, nil, after)
	}); err != nil {
		return nil, err
	}
	if !until.IsZero() {
		return nil, &LockedError{Until: until}
	}
	return nil, ErrBadCode
}

func (db *DB) enrolledSecret(ctx context.Context, userID int64) (string, error) {
	var s string
	err := db.r.GetContext(ctx, &s, db.r.Rebind("SELECT totp_secret FROM users WHERE id = ? AND totp_enrolled_at IS NOT NULL"), userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}

// Passkey is a registered WebAuthn credential.
type Passkey struct {
	ID           int64      `db:"id"`
	Owner        string     `db:"owner"`
	CredentialID string     `db:"credential_id"`
	Name         string     `db:"name"`
	Credential   string     `db:"credential"`
	CreatedAt    time.Time  `db:"created_at"`
	LastUsedAt   *time.Time `db:"last_used_at"`
}

// Passkeys lists owner's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, owner string) ([]*Passkey, error) {
	var out []*Passkey
	err := db.r.SelectContext(ctx, &out, db.r.Rebind("SELECT id, owner, credential_id, name, credential, created_at, last_used_at FROM passkeys WHERE owner = ? ORDER BY id"), owner)
	return out, err
}

// AddPasskey stores a passkey the portal registered for owner in session
// (credential is go-webauthn's Credential as JSON) and marks the session
// as having passed the second factor: the registration was a ceremony
// with the authenticator. Audited (passkey.add).
func (db *DB) AddPasskey(ctx context.Context, k SessionKind, session, actor, owner, name, credentialID, credential string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if len(name) > 100 || cases.TextProblem(name) != "" {
		return cases.Invalid(map[string]string{"name": "must be up to 100 characters of text"})
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM passkeys WHERE credential_id = ?"), credentialID); err != nil {
			return err
		}
		if n > 0 {
			return cases.Errorf(cases.ECONFLICT, "this passkey is registered already")
		}
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind("INSERT INTO passkeys (owner, credential_id, name, credential, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id"),
			owner, credentialID, name, credential, db.Now()); err != nil {
			return err
		}
		if err := db.passSession(ctx, tx, k, session); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "passkey.add", "account", owner, nil, map[string]any{"passkey": id, "name": name})
	})
}

// UsePasskey records a passkey sign-in of owner in session: the credential
// as the assertion left it (its sign count), the session as passed, the
// account's failed count reset. Audited (login.second_factor, method
// passkey).
func (db *DB) UsePasskey(ctx context.Context, k SessionKind, session, actor, owner, credentialID, credential string) error {
	account, id, _ := strings.Cut(owner, ":")
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE passkeys SET credential = ?, last_used_at = ? WHERE owner = ? AND credential_id = ?"),
			credential, db.Now(), owner, credentialID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return cases.Errorf(cases.ENOTFOUND, "no such passkey")
		}
		table := "users"
		if account == "officer" {
			table = "officers"
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE "+table+" SET failed_logins = 0 WHERE id = ?"), id); err != nil {
			return err
		}
		if err := db.passSession(ctx, tx, k, session); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "login.second_factor", account, id, nil, map[string]any{"method": "passkey"})
	})
}

// AuditSecondFactorFailure records a refused passkey step (a bad or
// foreign assertion): it is not a guess to count, but it is kept.
func (db *DB) AuditSecondFactorFailure(ctx context.Context, actor, owner, reason string) error {
	account, id, _ := strings.Cut(owner, ":")
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		return db.Audit(ctx, tx, actor, "login.second_factor.fail", account, id, nil, map[string]any{"method": "passkey", "reason": reason})
	})
}

// ResetSecondFactor removes every second factor of the user with email
// (TOTP, passkeys, recovery codes) and ends their sessions: for a user who
// lost them all. Their role may still require one, which they then set up
// at the next sign-in. Audited (user.second_factor.reset).
func (db *DB) ResetSecondFactor(ctx context.Context, actor, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, tx.Rebind("SELECT id FROM users WHERE email = ?"), email)
		if errors.Is(err, sql.ErrNoRows) {
			return cases.Errorf(cases.ENOTFOUND, "no user %s", email)
		} else if err != nil {
			return err
		}
		owner := UserOwner(id)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"UPDATE users SET totp_secret = '', totp_enrolled_at = NULL, totp_last_step = 0 WHERE id = ?", []any{id}},
			{"DELETE FROM passkeys WHERE owner = ?", []any{owner}},
			{"DELETE FROM recovery_codes WHERE owner = ?", []any{owner}},
			{"UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", []any{db.Now(), id}},
		} {
			if _, err := tx.ExecContext(ctx, tx.Rebind(q.sql), q.args...); err != nil {
				return err
			}
		}
		return db.Audit(ctx, tx, actor, "user.second_factor.reset", "user", strconv.FormatInt(id, 10), nil, map[string]any{"email": email})
	})
}
