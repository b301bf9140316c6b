package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A code check that takes "1" and "2" as codes of steps 1 and 2, so the
// store's part (replay, lockout) is tested without TOTP itself, which
// web/agency tests with real codes.
func steps(_, code string, _ time.Time) int64 {
	switch code {
	case "1":
		return 1
	case "2":
		return 2
	}
	return 0
}

// Officers on both engines: registration on a directory domain only,
// verification once, enrolment, replay refused, parallel lockout,
// suspension.
func TestOfficers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ag, err := db.CreateAgency(ctx, cases.System, fbi())
		if err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"a@fbi-gov.us", "a@fbi.gov.evil.com", "a@gmail.com"} {
			if _, _, err := db.RegisterOfficer(ctx, ag.ID, email, "A", "", "correct horse battery"); cases.ErrorFields(err)["email"] == "" {
				t.Errorf("register %s: %v", email, err)
			}
		}
		o, token, err := db.RegisterOfficer(ctx, ag.ID, "kim@ic.fbi.gov", "SA Kim", "", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.AuthenticateOfficer(ctx, o.Email, "correct horse battery", "", steps); err != store.ErrOfficerLogin {
			t.Fatalf("unverified sign-in: %v", err)
		}
		if _, err := db.VerifyOfficer(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := db.VerifyOfficer(ctx, token); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Fatalf("a token spent twice: %v", err)
		}
		_, mfa, err := db.AuthenticateOfficer(ctx, o.Email, "correct horse battery", "", steps)
		if err != nil || mfa {
			t.Fatalf("first sign-in: mfa %v %v", mfa, err)
		}
		db.SetOfficerSecret(ctx, o.ID, "SECRET")
		if err := db.ConfirmOfficerTOTP(ctx, o.ID, "", "1", steps); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.AuthenticateOfficer(ctx, o.Email, "correct horse battery", "1", steps); err != store.ErrOfficerLogin {
			t.Fatalf("a replayed code: %v", err)
		}
		if _, mfa, err := db.AuthenticateOfficer(ctx, o.Email, "correct horse battery", "2", steps); err != nil || !mfa {
			t.Fatalf("sign-in with a new code: %v %v", mfa, err)
		}
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db.AuthenticateOfficer(ctx, o.Email, fmt.Sprint("wrong ", i), "", steps)
			}()
		}
		wg.Wait()
		db.SetOfficerSecret(ctx, o.ID, "SECRET")
		// Step 3 would be fresh: the refusal is the lock.
		if _, _, err := db.AuthenticateOfficer(ctx, o.Email, "correct horse battery", "2", steps); err != store.ErrOfficerLogin {
			t.Fatalf("right password after 30 wrong: %v", err)
		}
		if list, err := db.Officers(ctx, ag.ID); err != nil || len(list) != 1 {
			t.Fatalf("officers of the agency: %v %v", list, err)
		}
		if list, err := db.Officers(ctx, 0); err != nil || len(list) != 1 {
			t.Fatalf("all officers: %v %v", list, err)
		}
		admin := &cases.User{Email: "admin@example.org", Role: cases.RoleAdmin}
		if _, err := db.SuspendOfficer(ctx, &cases.User{Email: "r@example.org", Role: cases.RoleReviewer}, o.ID, true, "x"); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Fatalf("a reviewer suspending: %v", err)
		}
		sess, _ := db.CreateOfficerSession(ctx, o.ID, true)
		if _, err := db.SuspendOfficer(ctx, admin, o.ID, true, "left"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.OfficerSession(ctx, sess); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Fatalf("a suspended officer's session: %v", err)
		}
	})
}
