package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// Org returns the organisation profile, or ok false if none was ever
// saved.
func (db *DB) Org(ctx context.Context) (org *cases.Org, ok bool, err error) {
	var s string
	err = db.r.GetContext(ctx, &s, "SELECT profile FROM org_profile WHERE id = 1")
	if errors.Is(err, sql.ErrNoRows) {
		return &cases.Org{}, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("read the organisation profile: %w", err)
	}
	var o cases.Org
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return nil, false, fmt.Errorf("read the organisation profile: %w", err)
	}
	return &o, true, nil
}

// SetOrg validates and saves the organisation profile, audited with the
// profile it replaces (images by their SHA-256).
func (db *DB) SetOrg(ctx context.Context, actor string, o *cases.Org) error {
	o.Normalize()
	if err := o.Validate(); err != nil {
		return err
	}
	doc, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var before *orgAudit
		var prev string
		switch err := tx.GetContext(ctx, &prev, "SELECT profile FROM org_profile WHERE id = 1"); {
		case err == nil:
			var p cases.Org
			if json.Unmarshal([]byte(prev), &p) == nil {
				before = auditOf(&p)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read the organisation profile: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO org_profile (id, profile, updated_by, updated_at)
			VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE
			SET profile = excluded.profile, updated_by = excluded.updated_by, updated_at = excluded.updated_at`),
			string(doc), actor, db.Now()); err != nil {
			return fmt.Errorf("save the organisation profile: %w", err)
		}
		return db.Audit(ctx, tx, actor, "org.update", "org", "1", before, auditOf(o))
	})
}

// orgAudit is a profile as the audit log records it: the text, and the
// images by hash.
type orgAudit struct {
	cases.Org
	Logo           string `json:"logo,omitempty"`
	SignatureImage string `json:"signature_image,omitempty"`
}

func auditOf(o *cases.Org) *orgAudit {
	a := &orgAudit{Org: *o, Logo: imageHash(o.Logo), SignatureImage: imageHash(o.SignatureImage)}
	a.Org.Logo, a.Org.SignatureImage = nil, nil
	return a
}

func imageHash(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}
