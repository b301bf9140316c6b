package store_test

import (
	"errors"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

const testPassword = "correct horse battery"

// clock makes db.Now controllable.
func clock(db *store.DB) *time.Time {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	return &now
}

func TestAuthenticateAndLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := clock(db)
		user(t, db, "ivy@example.org", cases.RoleIntake)
		if err := db.SetPassword(ctx, "test", "ivy@example.org", testPassword, false); err != nil {
			t.Fatal(err)
		}
		if u, err := db.Authenticate(ctx, " IVY@example.org ", testPassword); err != nil || u.Email != "ivy@example.org" {
			t.Fatalf("good password: %v %v", u, err)
		}
		if _, err := db.Authenticate(ctx, "nobody@example.org", testPassword); !errors.Is(err, store.ErrBadLogin) {
			t.Fatalf("unknown email: %v", err)
		}
		for i := 1; i < store.MaxFailedLogins; i++ {
			if _, err := db.Authenticate(ctx, "ivy@example.org", "wrong"); !errors.Is(err, store.ErrBadLogin) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		var locked *store.LockedError
		if _, err := db.Authenticate(ctx, "ivy@example.org", "wrong"); !errors.As(err, &locked) || !locked.Until.Equal(now.Add(store.LockoutBase)) {
			t.Fatalf("failure %d should lock for %v: %v", store.MaxFailedLogins, store.LockoutBase, err)
		}
		// While locked, even the right password is refused.
		if _, err := db.Authenticate(ctx, "ivy@example.org", testPassword); !errors.As(err, &locked) {
			t.Fatalf("right password while locked: %v", err)
		}
		// After the lockout, one more failure locks again for twice as long.
		*now = now.Add(store.LockoutBase + time.Second)
		if _, err := db.Authenticate(ctx, "ivy@example.org", "wrong"); !errors.As(err, &locked) || !locked.Until.Equal(now.Add(2*store.LockoutBase)) {
			t.Fatalf("backoff: %v", err)
		}
		*now = now.Add(2*store.LockoutBase + time.Second)
		if _, err := db.Authenticate(ctx, "ivy@example.org", testPassword); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
		// A success resets the count.
		if _, err := db.Authenticate(ctx, "ivy@example.org", "wrong"); !errors.Is(err, store.ErrBadLogin) {
			t.Fatalf("after reset: %v", err)
		}
		evs, err := db.Events(ctx, "user", "1")
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range evs {
			counts[e.Action]++
		}
		if counts["login.success"] != 2 || counts["login.fail"] != 7 || counts["login.locked"] != 1 {
			t.Errorf("audit: %v", counts)
		}
	})
}

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := clock(db)
		u := user(t, db, "ivy@example.org", cases.RoleReviewer)
		tok, err := db.CreateSession(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.SessionUser(ctx, tok); err != nil || got.Email != u.Email || got.Role != cases.RoleReviewer {
			t.Fatalf("session user: %v %v", got, err)
		}
		if _, err := db.SessionUser(ctx, tok+"x"); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Fatalf("forged session: %v", err)
		}
		// Used every 20 minutes, it outlives the idle timeout...
		for i := 0; i < 5; i++ {
			*now = now.Add(20 * time.Minute)
			if _, err := db.SessionUser(ctx, tok); err != nil {
				t.Fatalf("active at +%d: %v", i, err)
			}
		}
		// ...but not the idle timeout without use.
		*now = now.Add(store.SessionIdleTimeout + time.Second)
		if _, err := db.SessionUser(ctx, tok); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Fatalf("idle session: %v", err)
		}
		// The absolute timeout ends even a busy session.
		tok, _ = db.CreateSession(ctx, u.ID)
		for elapsed := time.Duration(0); elapsed < store.SessionAbsoluteTimeout-10*time.Minute; elapsed += 10 * time.Minute {
			*now = now.Add(10 * time.Minute)
			if _, err := db.SessionUser(ctx, tok); err != nil {
				t.Fatalf("busy session at %v: %v", elapsed, err)
			}
		}
		*now = now.Add(20 * time.Minute)
		if _, err := db.SessionUser(ctx, tok); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Fatalf("session past its absolute timeout: %v", err)
		}
		// Sign-out.
		tok, _ = db.CreateSession(ctx, u.ID)
		if err := db.RevokeSession(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionUser(ctx, tok); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Fatalf("revoked session: %v", err)
		}
		if err := db.RevokeSession(ctx, tok); err != nil {
			t.Fatalf("second sign-out: %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		u := user(t, db, "ivy@example.org", cases.RoleIntake)
		if err := db.SetPassword(ctx, "test", u.Email, testPassword, true); err != nil {
			t.Fatal(err)
		}
		u, err := db.Authenticate(ctx, u.Email, testPassword)
		if err != nil || !u.MustChangePassword {
			t.Fatalf("first sign-in: %+v %v", u, err)
		}
		keep, _ := db.CreateSession(ctx, u.ID)
		other, _ := db.CreateSession(ctx, u.ID)
		err = db.ChangePassword(ctx, u, "wrong", "short", keep)
		if f := cases.ErrorFields(err); f["current"] == "" || f["password"] == "" {
			t.Fatalf("bad change: %v", err)
		}
		if err := db.ChangePassword(ctx, u, testPassword, "a much better passphrase", keep); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionUser(ctx, other); err == nil {
			t.Error("other sessions survive a password change")
		}
		got, err := db.SessionUser(ctx, keep)
		if err != nil || got.MustChangePassword {
			t.Fatalf("kept session: %+v %v", got, err)
		}
		if _, err := db.Authenticate(ctx, u.Email, testPassword); err == nil {
			t.Error("old password still works")
		}
		if _, err := db.Authenticate(ctx, u.Email, "a much better passphrase"); err != nil {
			t.Errorf("new password: %v", err)
		}
	})
}
