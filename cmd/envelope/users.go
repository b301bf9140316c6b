package main

import (
	"context"
	"fmt"

	"envelope/cases"
	"envelope/cases/store"
)

func init() {
	register(&command{name: "user add", args: "--email E --role R", summary: "create a user and print its one-time password", run: userAdd})
	register(&command{name: "token create", args: "--email E", summary: "print a new API token for a user (shown once)", run: tokenCreate})
	register(&command{name: "token revoke", args: "--email E", summary: "revoke every API token of a user", run: tokenRevoke})
}

func userAdd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("user add")
	db := a.dbFlag(fs)
	email := fs.String("email", "", "the user's email address")
	role := fs.String("role", "", "intake, reviewer, supervisor, auditor, admin or collector")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "email", *email); err != nil {
		return err
	}
	if err := required(fs, "role", *role); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		_, password, err := s.CreateUser(ctx, a.actor(), *email, cases.Role(*role))
		if err == nil {
			fmt.Fprintln(a.stdout, password)
		}
		return err
	})
}

func tokenCreate(ctx context.Context, a *app, args []string) error {
	fs := a.flags("token create")
	db := a.dbFlag(fs)
	email := fs.String("email", "", "the user the token acts as")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "email", *email); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		token, err := s.CreateToken(ctx, a.actor(), *email)
		if err == nil {
			fmt.Fprintln(a.stdout, token)
		}
		return err
	})
}

func tokenRevoke(ctx context.Context, a *app, args []string) error {
	fs := a.flags("token revoke")
	db := a.dbFlag(fs)
	email := fs.String("email", "", "the user whose tokens to revoke")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "email", *email); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		n, err := s.RevokeTokens(ctx, a.actor(), *email)
		if err == nil {
			fmt.Fprintf(a.stdout, "revoked %d token(s)\n", n)
		}
		return err
	})
}
