package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// signin require sets the roles that need a second factor (a bad role is
// a usage error naming it); user reset-second-factor removes a user's
// factors and sessions, audited.
func TestSigninRequireAndReset(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	if code, _, _ := cli(t, db, "", "user", "add", "--email", "sam@example.org", "--role", "supervisor"); code != 0 {
		t.Fatal("user add")
	}
	if code, _, errOut := cli(t, db, "", "signin", "require", "--roles", "reviewer,boss"); code != 2 || !strings.Contains(errOut, `"boss" is not a role`) {
		t.Fatalf("bad role: %d %q", code, errOut)
	}
	if code, out, _ := cli(t, db, "", "signin", "require", "--roles", "reviewer, admin"); code != 0 || out != "second factor required for: reviewer, admin\n" {
		t.Fatalf("signin require: %d %q", code, out)
	}
	ctx := context.Background()
	s, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := s.SecondFactorRoles(ctx); !got[cases.RoleReviewer] || !got[cases.RoleAdmin] || got[cases.RoleSupervisor] {
		t.Fatalf("roles: %v", got)
	}
	u, _ := s.UserByEmail(ctx, "sam@example.org")
	sess, _ := s.CreateSession(ctx, u.ID)
	s.OfferUserTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP")
	if err := s.EnrolUserTOTP(ctx, sess, "x", func(string, string, time.Time) int64 { return 1 }); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, db, "", "user", "reset-second-factor", "--email", "sam@example.org"); code != 0 {
		t.Fatalf("reset: %d %s", code, errOut)
	}
	if _, err := s.StaffSession(ctx, sess); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
		t.Fatalf("the session outlived the reset: %v", err)
	}
	sess, _ = s.CreateSession(ctx, u.ID)
	if st, _ := s.StaffSession(ctx, sess); st.Enrolled {
		t.Fatal("still enrolled after the reset")
	}
	if evs, _ := s.Events(ctx, "user", "1"); evs[len(evs)-1].Action != "user.second_factor.reset" || evs[len(evs)-1].Actor != "cli:user reset-second-factor" {
		t.Fatalf("audit: %+v", evs[len(evs)-1])
	}
	if code, _, _ := cli(t, db, "", "user", "reset-second-factor", "--email", "nobody@example.org"); code != 1 {
		t.Fatal("reset of an unknown user")
	}
}
