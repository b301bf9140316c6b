package store_test

import (
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Disabling a user ends their sessions and tokens at once; a role change
// applies to their next request; the last admin cannot lock everyone out;
// a password reset gives a one-time password that signs in, must be changed,
// and ends the old sessions. Every change is audited.
func TestUserAdministration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		admin, _, err := db.CreateUser(ctx, "test", "ada@example.org", cases.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		u, _, err := db.CreateUser(ctx, "test", "ivy@example.org", cases.RoleIntake)
		if err != nil {
			t.Fatal(err)
		}
		session, err := db.CreateSession(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		token, err := db.CreateToken(ctx, "test", u.Email)
		if err != nil {
			t.Fatal(err)
		}

		// A role change: the same session now carries the new role.
		if _, err := db.UpdateUser(ctx, admin.Email, u.ID, cases.RoleReviewer, false); err != nil {
			t.Fatal(err)
		}
		if got, err := db.SessionUser(ctx, session); err != nil || got.Role != cases.RoleReviewer {
			t.Fatalf("after the role change: %+v %v", got, err)
		}
		if _, err := db.UpdateUser(ctx, admin.Email, u.ID, "root", false); cases.ErrorCode(err) != cases.EINVALID || cases.ErrorFields(err)["role"] == "" {
			t.Errorf("unknown role: %v", err)
		}
		if _, err := db.UpdateUser(ctx, admin.Email, 999, cases.RoleAuditor, false); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("unknown user: %v", err)
		}

		// Disabled: session and token stop working, and stay stopped when
		// the account is enabled again.
		if _, err := db.UpdateUser(ctx, admin.Email, u.ID, cases.RoleReviewer, true); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionUser(ctx, session); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Errorf("session of a disabled user: %v", err)
		}
		if _, err := db.UserByToken(ctx, token); cases.ErrorCode(err) != cases.EUNAUTHORIZED && cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("token of a disabled user: %v", err)
		}
		if _, err := db.UpdateUser(ctx, admin.Email, u.ID, cases.RoleReviewer, false); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionUser(ctx, session); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Errorf("an ended session came back with the account: %v", err)
		}
		if _, err := db.UserByToken(ctx, token); err == nil {
			t.Errorf("a revoked token came back with the account")
		}

		// The last admin stays an enabled admin.
		for _, c := range []struct {
			role     cases.Role
			disabled bool
		}{{cases.RoleAuditor, false}, {cases.RoleAdmin, true}} {
			if _, err := db.UpdateUser(ctx, admin.Email, admin.ID, c.role, c.disabled); cases.ErrorCode(err) != cases.ECONFLICT {
				t.Errorf("last admin to %s disabled=%v: %v", c.role, c.disabled, err)
			}
		}
		if _, err := db.UpdateUser(ctx, admin.Email, u.ID, cases.RoleAdmin, false); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateUser(ctx, u.Email, admin.ID, cases.RoleAuditor, false); err != nil {
			t.Errorf("with a second admin, the first can step down: %v", err)
		}

		// A password reset.
		old, err := db.CreateSession(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, password, err := db.ResetPassword(ctx, admin.Email, u.ID)
		if err != nil || !got.MustChangePassword || len(password) < 12 {
			t.Fatalf("reset: %+v %q %v", got, password, err)
		}
		if _, err := db.SessionUser(ctx, old); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Errorf("a session survived the reset: %v", err)
		}
		if signedIn, err := db.Authenticate(ctx, u.Email, password); err != nil || !signedIn.MustChangePassword {
			t.Errorf("sign-in with the one-time password: %+v %v", signedIn, err)
		}

		counts := map[string]int{}
		evs, err := db.Events(ctx, "user", itoa(u.ID))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			counts[e.Action]++
		}
		if counts["user.update"] != 4 || counts["user.password_reset"] != 1 {
			t.Errorf("audit of the user: %v", counts)
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
