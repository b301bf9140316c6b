package main

import (
	"context"
	"fmt"

	"envelope/cases/store"
)

func init() {
	register(&command{name: "audit verify", summary: "check the audit log's hash chain; exit 0 only if intact", run: auditVerify})
}

func auditVerify(ctx context.Context, a *app, args []string) error {
	fs := a.flags("audit verify")
	db := a.dbFlag(fs)
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		n, err := s.VerifyAudit(ctx)
		if err != nil {
			return fmt.Errorf("audit log NOT intact after %d good events: %w", n, err)
		}
		fmt.Fprintf(a.stdout, "audit log intact: %d events verified\n", n)
		return nil
	})
}
