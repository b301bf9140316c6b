package main

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"envelope/cases/store"
	"envelope/exporter"
)

func init() {
	register(&command{name: "signing-key rotate", args: "[--db DSN] [--keys DIR]",
		summary: "replace the package signing key by a new one; the old public key is kept in the keys folder's retired/ so packages already sent still verify; restart serve after", run: rotateSigningKey})
}

func rotateSigningKey(ctx context.Context, a *app, args []string) error {
	fs := a.flags("signing-key rotate")
	db := a.dbFlag(fs)
	keys := a.keysFlag(fs)
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		old, cur, err := exporter.RotateKey(*keys)
		if err != nil {
			return err
		}
		// The rotation is a change of who can sign evidence: audited.
		if err := s.Tx(ctx, func(tx *sqlx.Tx) error {
			if err := s.RebindKey(ctx, tx, a.actor(), store.SettingSigningKey, old.Fingerprint(), cur.Fingerprint()); err != nil {
				return err
			}
			return s.Audit(ctx, tx, a.actor(), "signing-key.rotate", "signing-key", cur.Fingerprint(), map[string]string{"fingerprint": old.Fingerprint()}, map[string]string{"fingerprint": cur.Fingerprint()})
		}); err != nil {
			return fmt.Errorf("the key was rotated (new %s), but auditing it failed: %w", cur.Fingerprint(), err)
		}
		fmt.Fprintf(a.stdout, "signing key rotated: new key %s; old key %s kept in %s/ for verification\n", cur.Fingerprint(), old.Fingerprint(), exporter.RetiredDir)
		return nil
	})
}
