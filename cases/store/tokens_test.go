package store_test

import (
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// An API token works until TokenTTL after it was issued and not a moment
// later; revoking a user's tokens ends them all and no one else's.
func TestTokenExpiryAndRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := clock(db)
		issued := *now
		ivy := user(t, db, "ivy@example.org", cases.RoleIntake)
		rex := user(t, db, "rex@example.org", cases.RoleReviewer)
		tok, _ := db.CreateToken(ctx, "test", ivy.Email)
		tok2, _ := db.CreateToken(ctx, "test", ivy.Email)
		other, _ := db.CreateToken(ctx, "test", rex.Email)
		*now = issued.Add(store.TokenTTL - time.Second)
		if _, err := db.UserByToken(ctx, tok); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		*now = issued.Add(store.TokenTTL)
		if _, err := db.UserByToken(ctx, tok); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Fatalf("at expiry: %v", err)
		}
		*now = issued
		if n, err := db.RevokeTokens(ctx, "admin@example.org", ivy.Email); err != nil || n != 2 {
			t.Fatalf("revoke: %d %v", n, err)
		}
		for _, tk := range []string{tok, tok2} {
			if _, err := db.UserByToken(ctx, tk); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
				t.Errorf("revoked token still works: %v", err)
			}
		}
		if u, err := db.UserByToken(ctx, other); err != nil || u.Email != rex.Email {
			t.Errorf("another user's token was revoked: %v", err)
		}
		// A token issued after the revocation works: revocation is not a ban.
		fresh, _ := db.CreateToken(ctx, "test", ivy.Email)
		if _, err := db.UserByToken(ctx, fresh); err != nil {
			t.Errorf("new token after revocation: %v", err)
		}
	})
}

// A disabled user's tokens and sessions stop working at once, and no new
// token can be issued to them.
func TestDisabledUserLosesAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		u := user(t, db, "ivy@example.org", cases.RoleIntake)
		tok, _ := db.CreateToken(ctx, "test", u.Email)
		sess, _ := db.CreateSession(ctx, u.ID)
		if _, err := db.UserByToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionUser(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Writer().Exec(db.Writer().Rebind("UPDATE users SET disabled = ? WHERE id = ?"), true, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UserByToken(ctx, tok); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Errorf("a disabled user's token works: %v", err)
		}
		if _, err := db.SessionUser(ctx, sess); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Errorf("a disabled user's session works: %v", err)
		}
		if _, err := db.CreateToken(ctx, "test", u.Email); err == nil {
			t.Error("a token was issued to a disabled user")
		}
	})
}
