package store

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// Single sign-on (issue 14): the portal checks the provider's ID token and
// maps its role claim; the store finds or makes the account and records
// the sign-in. The provider is the source of the role: a sign-in with a
// changed role changes the user's, audited.

// ssoNoPassword is the password hash of an account made by single sign-on:
// not a bcrypt hash, so no password ever matches it.
const ssoNoPassword = "!sso"

// SignInSingleSignOn returns the account of a user the provider at issuer
// signed in (subject, a verified email) with role, making it if it is new
// and setting its role if the provider's differs. A disabled account is
// refused (ErrBadLogin), as at the password sign-in. Audited: login.success
// with the method, user.create, user.role.
func (db *DB) SignInSingleSignOn(ctx context.Context, issuer, subject, email string, role cases.Role) (*cases.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 320 {
		return nil, cases.Invalid(map[string]string{"email": "the provider gave no email address"})
	}
	if !role.Valid() {
		return nil, cases.Invalid(map[string]string{"role": strconv.Quote(string(role)) + " is not a role"})
	}
	actor := "sso:" + issuer
	var u *cases.User
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		row, err := db.authRow(ctx, tx, email)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var id int64
			if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO users (email, role, password_hash, must_change_password, created_at)
				VALUES (?, ?, ?, ?, ?) RETURNING id`), email, role, ssoNoPassword, false, db.Now()); err != nil {
				return err
			}
			if u, err = db.userByID(ctx, tx, id); err != nil {
				return err
			}
			if err := db.Audit(ctx, tx, actor, "user.create", "user", strconv.FormatInt(id, 10), nil, u); err != nil {
				return err
			}
		case err != nil:
			return err
		case row.Disabled:
			u = &row.User
			return errDisabled
		default:
			u = &row.User
			if u.Role != role {
				if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET role = ? WHERE id = ?"), role, u.ID); err != nil {
					return err
				}
				if err := db.Audit(ctx, tx, actor, "user.role", "user", strconv.FormatInt(u.ID, 10),
					map[string]any{"role": u.Role}, map[string]any{"role": role, "from": "single sign-on"}); err != nil {
					return err
				}
				u.Role = role
			}
		}
		return db.Audit(ctx, tx, email, "login.success", "user", strconv.FormatInt(u.ID, 10), nil,
			map[string]any{"method": "oidc", "issuer": issuer, "subject": subject})
	})
	if errors.Is(err, errDisabled) {
		if err := db.AuditSingleSignOnRefused(ctx, issuer, subject, email, "disabled", nil); err != nil {
			return nil, err
		}
		return nil, ErrBadLogin
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

var errDisabled = errors.New("disabled")

// AuditSingleSignOnRefused records a single sign-on the portal refused
// (no or an unknown role claim, a disabled account), with what the
// provider said.
func (db *DB) AuditSingleSignOnRefused(ctx context.Context, issuer, subject, email, reason string, claim any) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		return db.Audit(ctx, tx, "sso:"+issuer, "login.sso.refused", "login", "sso:"+subject, nil,
			map[string]any{"reason": reason, "email": email, "role_claim": claim})
	})
}
