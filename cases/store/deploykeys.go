package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// The settings rows that name the deployment's keys: the fingerprint of
// the package signing key, and the audit key's verifier key (both public).
// Every instance sharing the database must sign with these, so that a
// package produced on one verifies like any other and one audit key signs
// the log's checkpoints (issue 18: each instance made its own key).
const (
	SettingSigningKey = "signing_key_sha256"
	SettingAuditKey   = "audit_verifier_key"
)

// BindKey records value as the deployment's key called name if none is
// recorded yet (the first instance to start), and otherwise refuses a
// different one with ECONFLICT, naming both: an instance must not start
// with a key of its own.
func (db *DB) BindKey(ctx context.Context, name, value string) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var cur string
		err := tx.GetContext(ctx, &cur, tx.Rebind("SELECT value FROM settings WHERE key = ?"+db.lockRow()), name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)"),
				name, value, cases.System, db.Now()); err != nil {
				return err
			}
			return db.Audit(ctx, tx, cases.System, "settings.key", "settings", name, nil, map[string]string{name: value})
		case err != nil:
			return err
		case cur != value:
			return cases.Errorf(cases.ECONFLICT, "this instance's %s is %s, but the deployment's, recorded when the first instance started, is %s: give every instance the same keys folder (or run envelope signing-key rotate to replace the key on purpose)", name, value, cur)
		}
		return nil
	})
}

// RebindKey replaces the deployment's key called name, from old to new, in
// tx: a rotation, audited by its caller in the same transaction. A
// recorded key other than old is ECONFLICT: the keys folder rotated is not
// the deployment's.
func (db *DB) RebindKey(ctx context.Context, tx *sqlx.Tx, actor, name, old, new string) error {
	res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE settings SET value = ?, updated_by = ?, updated_at = ? WHERE key = ? AND value = ?"),
		new, actor, db.Now(), name, old)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var cur string
	err = tx.GetContext(ctx, &cur, tx.Rebind("SELECT value FROM settings WHERE key = ?"), name)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)"), name, new, actor, db.Now())
		return err
	} else if err != nil {
		return err
	}
	return cases.Errorf(cases.ECONFLICT, "the deployment's %s is %s, not the rotated key's %s: this keys folder is not the deployment's", name, cur, old)
}

// Secret returns the deployment's random secret called name (32 bytes),
// creating it on first use; every instance sharing the database gets the
// same one. It keys what any instance must be able to check, such as the
// agency portal's signed download links. Whoever can read the database can
// read it: it protects nothing the database does not already hold.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key := "secret:" + name
	if _, err := db.w.ExecContext(ctx, db.w.Rebind("INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"),
		key, hex.EncodeToString(fresh), cases.System, db.Now()); err != nil {
		return nil, err
	}
	var v string
	if err := db.w.GetContext(ctx, &v, db.w.Rebind("SELECT value FROM settings WHERE key = ?"), key); err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}
