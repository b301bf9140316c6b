package main

import (
	"context"
	"fmt"
	"strings"

	"envelope/cases"
	"envelope/cases/store"
)

// The second factor from the command line (issue 14): which roles must
// use one (as Settings → Sign-in in the portal), and a reset for a user
// who lost every factor and recovery code.
func init() {
	register(&command{name: "signin require", args: "--roles R,R", summary: "set the staff roles that must sign in with a second factor (empty: none)", run: signinRequire})
	register(&command{name: "user reset-second-factor", args: "--email E", summary: "remove a user's TOTP, passkeys and recovery codes, and end their sessions", run: userResetSecondFactor})
}

func signinRequire(ctx context.Context, a *app, args []string) error {
	fs := a.flags("signin require")
	db := a.dbFlag(fs)
	list := fs.String("roles", "supervisor,admin", "comma-separated roles (intake, reviewer, supervisor, auditor, admin); empty for none")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	var roles []cases.Role
	for _, r := range strings.Split(*list, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, cases.Role(r))
		}
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		if err := s.SetSecondFactorRoles(ctx, a.actor(), roles); err != nil {
			if f := cases.ErrorFields(err)["roles"]; f != "" {
				return usageError{"--roles: " + f}
			}
			return err
		}
		fmt.Fprintf(a.stdout, "second factor required for: %s\n", strings.Join(strings.Fields(strings.ReplaceAll(*list, ",", " ")), ", "))
		return nil
	})
}

func userResetSecondFactor(ctx context.Context, a *app, args []string) error {
	fs := a.flags("user reset-second-factor")
	db := a.dbFlag(fs)
	email := fs.String("email", "", "the user's email address")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "email", *email); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		return s.ResetSecondFactor(ctx, a.actor(), *email)
	})
}
