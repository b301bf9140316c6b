package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"envelope/cases"
)

const userColumns = "id, email, role, must_change_password, disabled, created_at, time_zone"

// CreateUser adds a user with a random one-time password, which it returns:
// it is shown once and only its bcrypt hash is kept. The user must change it
// at first sign-in.
func (db *DB) CreateUser(ctx context.Context, actor, email string, role cases.Role) (*cases.User, string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	f := map[string]string{}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		f["email"] = fmt.Sprintf("%q is not an email address", email)
	}
	if !role.Valid() {
		f["role"] = fmt.Sprintf("%q is not a role (one of intake, reviewer, supervisor, auditor, admin, collector)", role)
	}
	if len(f) > 0 {
		return nil, "", cases.Invalid(f)
	}
	password, hash, err := oneTimePassword()
	if err != nil {
		return nil, "", err
	}
	var u *cases.User
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM users WHERE email = ?"), email); err != nil {
			return err
		}
		if n > 0 {
			return &cases.Error{Code: cases.ECONFLICT, Message: "user exists", Fields: map[string]string{"email": email + " already has an account"}}
		}
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO users (email, role, password_hash, must_change_password, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`), email, role, string(hash), true, db.Now()); err != nil {
			return err
		}
		if u, err = db.userByID(ctx, tx, id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "user.create", "user", strconv.FormatInt(id, 10), nil, u)
	})
	if err != nil {
		return nil, "", err
	}
	return u, password, nil
}

func (db *DB) userByID(ctx context.Context, q sqlx.QueryerContext, id int64) (*cases.User, error) {
	var u cases.User
	err := sqlx.GetContext(ctx, q, &u, db.w.Rebind("SELECT "+userColumns+" FROM users WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cases.Errorf(cases.ENOTFOUND, "no user with id %d", id)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, err
}

// UserByEmail looks a user up by email.
func (db *DB) UserByEmail(ctx context.Context, email string) (*cases.User, error) {
	var u cases.User
	err := db.r.GetContext(ctx, &u, db.r.Rebind("SELECT "+userColumns+" FROM users WHERE email = ?"),
		strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cases.Errorf(cases.ENOTFOUND, "no user %s", email)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, err
}

// Users lists every user.
func (db *DB) Users(ctx context.Context) ([]*cases.User, error) {
	var us []*cases.User
	err := db.r.SelectContext(ctx, &us, "SELECT "+userColumns+" FROM users ORDER BY email")
	return us, err
}

// TokenTTL is how long an API token stays valid.
const TokenTTL = 365 * 24 * time.Hour

// CreateToken issues a new API token for a user and returns it; only its
// SHA-256 is stored (a token is 256 random bits, so a fast hash is enough,
// unlike a password).
func (db *DB) CreateToken(ctx context.Context, actor, email string) (string, error) {
	u, err := db.UserByEmail(ctx, email)
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", cases.Errorf(cases.ECONFLICT, "user %s is disabled", u.Email)
	}
	token := "env_" + randomToken(32)
	now := db.Now()
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?) RETURNING id`), u.ID, hashToken(token), now, now.Add(TokenTTL)); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "token.create", "user", strconv.FormatInt(u.ID, 10), nil,
			map[string]any{"token_id": id, "expires_at": now.Add(TokenTTL)})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// UserByToken returns the user an API token belongs to, if the token is
// valid: known, not revoked, not expired, and its user not disabled.
func (db *DB) UserByToken(ctx context.Context, token string) (*cases.User, error) {
	var u cases.User
	err := db.r.GetContext(ctx, &u, db.r.Rebind(`SELECT u.id, u.email, u.role, u.must_change_password, u.disabled, u.created_at, u.time_zone
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) AND NOT u.disabled`),
		hashToken(token), db.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cases.Errorf(cases.EUNAUTHORIZED, "invalid or expired API token")
	}
	return &u, err
}

// RevokeTokens revokes every token of a user.
func (db *DB) RevokeTokens(ctx context.Context, actor, email string) (int64, error) {
	u, err := db.UserByEmail(ctx, email)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		if n, err = db.revokeTokens(ctx, tx, u.ID); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "token.revoke", "user", strconv.FormatInt(u.ID, 10), nil, map[string]any{"revoked": n})
	})
	return n, err
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// MinPasswordLength is the shortest password a user may choose.
const MinPasswordLength = 12

// SetPassword sets a user's password, and whether it must be changed at the
// next sign-in.
func (db *DB) SetPassword(ctx context.Context, actor, email, password string, mustChange bool) error {
	if len(password) < MinPasswordLength {
		return cases.Invalid(map[string]string{"password": fmt.Sprintf("must be at least %d characters", MinPasswordLength)})
	}
	u, err := db.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?"),
			string(hash), mustChange, u.ID); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, "user.password", "user", strconv.FormatInt(u.ID, 10), nil, map[string]any{"must_change_password": mustChange})
	})
}

// CountCases returns how many cases there are.
func (db *DB) CountCases(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.GetContext(ctx, &n, "SELECT COUNT(*) FROM cases")
	return n, err
}
