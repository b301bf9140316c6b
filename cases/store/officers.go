package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"envelope/cases"
	"envelope/cases/agencymatch"
)

// Officers are the agency portal's accounts (issue 14, web/agency). They
// live apart from staff users: another table, other sessions, and no role,
// so nothing that checks a staff role can ever be satisfied by an officer.

// Officer is an agency portal account.
type Officer struct {
	ID             int64      `json:"id" db:"id"`
	AgencyID       int64      `json:"agency_id" db:"agency_id"`
	Email          string     `json:"email" db:"email"`
	Name           string     `json:"name" db:"name"`
	Phone          string     `json:"phone" db:"phone"`
	VerifiedAt     *time.Time `json:"verified_at" db:"verified_at"`
	TOTPEnrolledAt *time.Time `json:"totp_enrolled_at" db:"totp_enrolled_at"`
	Suspended      bool       `json:"suspended" db:"suspended"`
	CreatedAt      time.Time  `json:"created_at" db:"created_at"`
}

// Enrolled reports whether the officer has a second factor.
func (o *Officer) Enrolled() bool { return o.TOTPEnrolledAt != nil }

// Actor is how the officer appears in the audit log and to the store's
// case work: a caller with the intake role's rights on the cases the portal
// lets them reach (the portal checks ownership first), named so that no
// audit reader mistakes them for staff.
func (o *Officer) Actor() *cases.User {
	return &cases.User{ID: -o.ID, Email: "agency:" + o.Email, Role: cases.RoleIntake}
}

const officerColumns = "id, agency_id, email, name, phone, verified_at, totp_enrolled_at, suspended, created_at"

const (
	// OfficerMaxFailed is how many failed sign-ins lock an officer out.
	OfficerMaxFailed = 5
	// OfficerLockout is how long the lock lasts.
	OfficerLockout = 15 * time.Minute
	// OfficerVerifyTTL is how long an email verification link works.
	OfficerVerifyTTL = 24 * time.Hour
	// OfficerSessionTTL is how long an agency session lasts.
	OfficerSessionTTL = 8 * time.Hour
)

// ErrOfficerLogin is the one answer to a failed agency sign-in, whatever
// the reason (unknown email, wrong password or code, not verified,
// suspended, locked): the reason goes to the audit log only, so the answer
// tells a guesser nothing about which accounts exist.
var ErrOfficerLogin = cases.Errorf(cases.EUNAUTHORIZED, "wrong email, password or code")

// RegisterOfficer creates an unverified officer of the directory agency
// agencyID and returns it with the verification token to email. The email's
// domain must be one of the agency's directory domains (or under one):
// agencymatch.Within compares IDNA-normalised names, so a look-alike
// (fbi-gov.us, fbı.gov) or any other domain is refused.
func (db *DB) RegisterOfficer(ctx context.Context, agencyID int64, email, name, phone, password string) (*Officer, string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	name = strings.TrimSpace(name)
	f := map[string]string{}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 320 {
		f["email"] = "is not an email address"
	}
	if name == "" || len(name) > 200 || cases.TextProblem(name) != "" {
		f["name"] = "is required (up to 200 characters)"
	}
	if len(password) < MinPasswordLength || len(password) > 72 {
		f["password"] = fmt.Sprintf("must be %d to 72 characters", MinPasswordLength)
	}
	ag, err := db.AgencyByID(ctx, agencyID)
	if cases.ErrorCode(err) == cases.ENOTFOUND {
		f["agency"] = "is not an agency of the directory"
	} else if err != nil {
		return nil, "", err
	}
	if f["email"] == "" && ag != nil {
		d, ok := agencymatch.EmailDomain(email)
		if !ok || !agencymatch.Within(d, ag.VerifiedDomains) {
			f["email"] = "must be an address on a directory domain of " + ag.Name
		}
	}
	if len(f) > 0 {
		return nil, "", cases.Invalid(f)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, "", err
	}
	token := randomToken(32)
	now := db.Now()
	var o *Officer
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM officers WHERE email = ?"), email); err != nil {
			return err
		}
		if n > 0 {
			return &cases.Error{Code: cases.ECONFLICT, Message: "officer exists", Fields: map[string]string{"email": "already has an account"}}
		}
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO officers (agency_id, email, name, phone, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), agencyID, email, name, strings.TrimSpace(phone), string(hash), now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO officer_tokens (token_hash, officer_id, purpose, expires_at, created_at)
			VALUES (?, ?, 'verify', ?, ?)`), hashToken(token), id, now.Add(OfficerVerifyTTL), now); err != nil {
			return err
		}
		var err error
		if o, err = db.officerByID(ctx, tx, id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, "agency:"+email, "officer.register", "officer", strconv.FormatInt(id, 10), nil, o)
	})
	if err != nil {
		return nil, "", err
	}
	return o, token, nil
}

func (db *DB) officerByID(ctx context.Context, q sqlx.QueryerContext, id int64) (*Officer, error) {
	var o Officer
	err := sqlx.GetContext(ctx, q, &o, db.w.Rebind("SELECT "+officerColumns+" FROM officers WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cases.Errorf(cases.ENOTFOUND, "no officer %d", id)
	}
	return &o, err
}

// Officer returns an officer by ID.
func (db *DB) Officer(ctx context.Context, id int64) (*Officer, error) {
	return db.officerByID(ctx, db.r, id)
}

// Officers lists the officers, of one agency when agencyID > 0.
func (db *DB) Officers(ctx context.Context, agencyID int64) ([]*Officer, error) {
	var out []*Officer
	err := db.r.SelectContext(ctx, &out, db.r.Rebind("SELECT "+officerColumns+" FROM officers WHERE ? = 0 OR agency_id = ? ORDER BY email"), agencyID, agencyID)
	return out, err
}

// VerifyOfficer spends a verification token: the officer's email is
// confirmed. A token works once and only until it expires.
func (db *DB) VerifyOfficer(ctx context.Context, token string) (*Officer, error) {
	now := db.Now()
	var o *Officer
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		id, err := spendToken(ctx, tx, token, "verify", now, "this link is unknown, used or expired: register again or sign in")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE officers SET verified_at = ? WHERE id = ? AND verified_at IS NULL"), now, id); err != nil {
			return err
		}
		if o, err = db.officerByID(ctx, tx, id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, "agency:"+o.Email, "officer.verify", "officer", strconv.FormatInt(id, 10), nil, map[string]any{"verified_at": now})
	})
	return o, err
}

type officerAuth struct {
	ID           int64        `db:"id"`
	Email        string       `db:"email"`
	PasswordHash string       `db:"password_hash"`
	Verified     sql.NullTime `db:"verified_at"`
	Enrolled     sql.NullTime `db:"totp_enrolled_at"`
	Secret       string       `db:"totp_secret"`
	Suspended    bool         `db:"suspended"`
	LockedUntil  sql.NullTime `db:"locked_until"`
}

// CodeCheck checks a TOTP code against a secret and returns the time step
// it was valid for (0 when not valid). The store does not know TOTP; the
// portal passes it in.
type CodeCheck func(secret, code string, at time.Time) int64

// AuthenticateOfficer checks an officer's password and, once enrolled, a
// TOTP code. It returns the officer and whether the second factor passed
// (false only for an officer not enrolled yet, whose session may do
// nothing but enrol). Every failure is ErrOfficerLogin; the audit log has
// the reason, and an unknown email only as a hash.
//
// Failures are counted by one UPDATE ... RETURNING that also sets the
// lock, and a success is accepted only by an UPDATE that finds the
// account unlocked, after the password check: so 30 parallel wrong
// passwords lock the account, and the right one after them is refused.
func (db *DB) AuthenticateOfficer(ctx context.Context, email, password, code string, check CodeCheck) (*Officer, bool, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 320 || cases.TextProblem(email) != "" {
		email = ""
	}
	now := db.Now()
	var row officerAuth
	// An officer of a suspended agency is refused as a suspended one is.
	err := db.r.GetContext(ctx, &row, db.r.Rebind(`SELECT id, email, password_hash, verified_at, totp_enrolled_at, totp_secret,
		(suspended OR EXISTS (SELECT 1 FROM agency_suspensions a WHERE a.agency_id = officers.agency_id)) AS suspended, locked_until
		FROM officers WHERE email = ?`), email)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.Audit(ctx, tx, cases.System, "officer.login.fail", "login", "sha256:"+hashToken(email)[:16], nil, map[string]any{"reason": "unknown email"})
		})
		if err != nil {
			return nil, false, err
		}
		return nil, false, ErrOfficerLogin
	} else if err != nil {
		return nil, false, err
	}
	oid := strconv.FormatInt(row.ID, 10)
	actor := "agency:" + row.Email
	fail := func(reason string) (*Officer, bool, error) {
		err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			var failed int
			if err := tx.GetContext(ctx, &failed, tx.Rebind(`UPDATE officers SET failed_logins = failed_logins + 1,
				locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
				WHERE id = ? RETURNING failed_logins`), OfficerMaxFailed, now.Add(OfficerLockout), row.ID); err != nil {
				return err
			}
			return db.Audit(ctx, tx, actor, "officer.login.fail", "officer", oid, nil, map[string]any{"reason": reason, "failed_logins": failed})
		})
		if err != nil {
			return nil, false, err
		}
		return nil, false, ErrOfficerLogin
	}
	refuse := func(reason string) (*Officer, bool, error) {
		err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.Audit(ctx, tx, actor, "officer.login.refused", "officer", oid, nil, map[string]any{"reason": reason})
		})
		if err != nil {
			return nil, false, err
		}
		return nil, false, ErrOfficerLogin
	}
	if bcrypt.CompareHashAndPassword([]byte(row.PasswordHash), []byte(password)) != nil {
		return fail("wrong password")
	}
	// The second factor: a TOTP code, a recovery code (spent below, once
	// the account is known to be unlocked), or none when the officer has a
	// passkey, which the next step asks for.
	var step int64
	recovery, passkeyNext := false, false
	if row.Enrolled.Valid {
		step = check(row.Secret, code, now)
		switch {
		case step > 0:
		case strings.TrimSpace(code) == "":
			if passkeyNext, err = db.hasPasskey(ctx, OfficerOwner(row.ID)); err != nil {
				return nil, false, err
			}
			if !passkeyNext {
				return fail("wrong code")
			}
		case !isTOTPCode(code):
			recovery = true
		default:
			return fail("wrong code")
		}
	}
	switch {
	case row.Suspended:
		return refuse("suspended")
	case !row.Verified.Valid:
		return refuse("email not verified")
	}
	if passkeyNext {
		return db.officerPasswordOnly(ctx, row.ID, actor)
	}
	errRecovery := errors.New("wrong recovery code")
	var o *Officer
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		// Unlocked now, and (enrolled) a code of a later step than the last
		// one used: a code seen once cannot be replayed.
		var id int64
		// A sign-in without a TOTP code (a recovery code) keeps the last
		// step: setting it to 0 would let a used code be replayed.
		err := tx.GetContext(ctx, &id, tx.Rebind(`UPDATE officers SET failed_logins = 0,
			totp_last_step = CASE WHEN ? > totp_last_step THEN ? ELSE totp_last_step END
			WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?) AND (? = 0 OR totp_last_step < ?) RETURNING id`),
			step, step, row.ID, now, step, step)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrOfficerLogin
		} else if err != nil {
			return err
		}
		after := map[string]any{"second_factor": row.Enrolled.Valid}
		if recovery {
			ok, err := db.spendRecoveryCode(ctx, tx, OfficerOwner(row.ID), code)
			if err != nil {
				return err
			}
			if !ok {
				return errRecovery
			}
			after["method"] = "recovery_code"
		}
		if o, err = db.officerByID(ctx, tx, id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "officer.login", "officer", oid, nil, after)
	})
	if errors.Is(err, errRecovery) {
		return fail("wrong recovery code")
	} else if errors.Is(err, ErrOfficerLogin) {
		return refuse("locked or code replayed")
	} else if err != nil {
		return nil, false, err
	}
	return o, row.Enrolled.Valid, nil
}

// officerPasswordOnly admits an officer who has a passkey with the password
// alone to a session that may do nothing but the passkey step. It counts
// as no success: the failed count stays until the passkey passes
// (UsePasskey), and a locked account is refused.
func (db *DB) officerPasswordOnly(ctx context.Context, id int64, actor string) (*Officer, bool, error) {
	var o *Officer
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM officers WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?)"), id, db.Now()); err != nil {
			return err
		}
		if n == 0 {
			return ErrOfficerLogin
		}
		var err error
		if o, err = db.officerByID(ctx, tx, id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "officer.login.password", "officer", strconv.FormatInt(id, 10), nil, map[string]any{"next": "passkey"})
	})
	if errors.Is(err, ErrOfficerLogin) {
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.Audit(ctx, tx, actor, "officer.login.refused", "officer", strconv.FormatInt(id, 10), nil, map[string]any{"reason": "locked"})
		}); err != nil {
			return nil, false, err
		}
		return nil, false, ErrOfficerLogin
	}
	if err != nil {
		return nil, false, err
	}
	return o, false, nil
}

func (db *DB) hasPasskey(ctx context.Context, owner string) (bool, error) {
	var n int
	err := db.r.GetContext(ctx, &n, db.r.Rebind("SELECT COUNT(*) FROM passkeys WHERE owner = ?"), owner)
	return n > 0, err
}

// SetOfficerSecret stores a TOTP secret offered for enrolment; it counts
// only once ConfirmOfficerTOTP has seen a code from it.
func (db *DB) SetOfficerSecret(ctx context.Context, id int64, secret string) error {
	_, err := db.w.ExecContext(ctx, db.w.Rebind("UPDATE officers SET totp_secret = ? WHERE id = ? AND totp_enrolled_at IS NULL"), secret, id)
	return err
}

// OfficerSecret returns the officer's pending or enrolled TOTP secret.
func (db *DB) OfficerSecret(ctx context.Context, id int64) (string, error) {
	var s string
	err := db.r.GetContext(ctx, &s, db.r.Rebind("SELECT totp_secret FROM officers WHERE id = ?"), id)
	return s, err
}

// ConfirmOfficerTOTP completes enrolment with a code of the pending secret,
// and marks the session as having passed the second factor.
func (db *DB) ConfirmOfficerTOTP(ctx context.Context, id int64, session, code string, check CodeCheck) error {
	secret, err := db.OfficerSecret(ctx, id)
	if err != nil {
		return err
	}
	now := db.Now()
	step := int64(0)
	if secret != "" {
		step = check(secret, code, now)
	}
	if step == 0 {
		return cases.Invalid(map[string]string{"code": "is not the current code of the authenticator app"})
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE officers SET totp_enrolled_at = ?, totp_last_step = ? WHERE id = ? AND totp_enrolled_at IS NULL"), now, step, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return cases.Errorf(cases.ECONFLICT, "a second factor is already enrolled")
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE officer_sessions SET mfa = ? WHERE token_hash = ? AND officer_id = ?"), true, hashToken(session), id); err != nil {
			return err
		}
		o, err := db.officerByID(ctx, tx, id)
		if err != nil {
			return err
		}
		return db.Audit(ctx, tx, "agency:"+o.Email, "officer.totp.enrol", "officer", strconv.FormatInt(id, 10), nil, map[string]any{"enrolled_at": now})
	})
}

// CreateOfficerSession starts an agency session; mfa says whether the
// second factor passed.
func (db *DB) CreateOfficerSession(ctx context.Context, id int64, mfa bool) (string, error) {
	token := randomToken(32)
	now := db.Now()
	_, err := db.w.ExecContext(ctx, db.w.Rebind(`INSERT INTO officer_sessions (token_hash, officer_id, mfa, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`), hashToken(token), id, mfa, now, now.Add(OfficerSessionTTL))
	return token, err
}

// OfficerSession returns the officer of a live session and whether it
// passed the second factor. A suspended officer's sessions are dead, and
// so are those of a suspended agency's officers.
func (db *DB) OfficerSession(ctx context.Context, token string) (*Officer, bool, error) {
	if token == "" {
		return nil, false, cases.Errorf(cases.EUNAUTHORIZED, "not signed in")
	}
	var row struct {
		ID  int64 `db:"officer_id"`
		MFA bool  `db:"mfa"`
	}
	err := db.r.GetContext(ctx, &row, db.r.Rebind(`SELECT s.officer_id, s.mfa FROM officer_sessions s JOIN officers o ON o.id = s.officer_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND NOT o.suspended AND o.verified_at IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM agency_suspensions a WHERE a.agency_id = o.agency_id)`), hashToken(token), db.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, cases.Errorf(cases.EUNAUTHORIZED, "not signed in")
	} else if err != nil {
		return nil, false, err
	}
	o, err := db.officerByID(ctx, db.r, row.ID)
	return o, row.MFA && o.Enrolled(), err
}

// EndOfficerSession signs an agency session out.
func (db *DB) EndOfficerSession(ctx context.Context, token string) error {
	_, err := db.w.ExecContext(ctx, db.w.Rebind("DELETE FROM officer_sessions WHERE token_hash = ?"), hashToken(token))
	return err
}

// SuspendOfficer suspends (or, suspend false, reinstates) an officer; a
// suspended officer's sessions stop at once and sign-in is refused.
func (db *DB) SuspendOfficer(ctx context.Context, actor *cases.User, id int64, suspend bool, reason string) (*Officer, error) {
	if actor == nil || actor.Disabled || actor.Role != cases.RoleAdmin {
		return nil, cases.Errorf(cases.EFORBIDDEN, "only an admin can suspend an officer")
	}
	if bad := reasonProblem(reason); bad != nil {
		return nil, cases.Invalid(bad)
	}
	var o *Officer
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		before, err := db.officerByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE officers SET suspended = ? WHERE id = ?"), suspend, id); err != nil {
			return err
		}
		if suspend {
			if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM officer_sessions WHERE officer_id = ?"), id); err != nil {
				return err
			}
		}
		if o, err = db.officerByID(ctx, tx, id); err != nil {
			return err
		}
		action := "officer.reinstate"
		if suspend {
			action = "officer.suspend"
		}
		return db.Audit(ctx, tx, actor.Email, action, "officer", strconv.FormatInt(id, 10),
			map[string]any{"suspended": before.Suspended}, map[string]any{"suspended": suspend, "reason": strings.TrimSpace(reason)})
	})
	return o, err
}
