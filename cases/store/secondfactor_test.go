package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// codeOf is a CodeCheck for tests: code "s<N>" is valid for step N.
func codeOf(secret, code string, at time.Time) int64 {
	if secret == "" || len(code) != 6 || !strings.HasPrefix(code, "00000") {
		return 0
	}
	return int64(code[5] - '0')
}

// A fresh database requires a second factor of supervisors and admins and
// of no other role; the setting changes as a whole, audited.
func TestSecondFactorRolesDefaultAndSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		got, err := db.SecondFactorRoles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range cases.Roles {
			want := r == cases.RoleSupervisor || r == cases.RoleAdmin
			if got[r] != want {
				t.Errorf("default for %s: %v, want %v", r, got[r], want)
			}
		}
		if err := db.SetSecondFactorRoles(ctx, "admin@example.org", []cases.Role{"boss"}); cases.ErrorFields(err)["roles"] == "" {
			t.Fatalf("unknown role: %v", err)
		}
		if err := db.SetSecondFactorRoles(ctx, "admin@example.org", []cases.Role{cases.RoleReviewer}); err != nil {
			t.Fatal(err)
		}
		got, _ = db.SecondFactorRoles(ctx)
		if !got[cases.RoleReviewer] || got[cases.RoleAdmin] || got[cases.RoleSupervisor] {
			t.Errorf("after setting reviewer only: %v", got)
		}
		evs, _ := db.Events(ctx, "settings", "second_factor_roles")
		if len(evs) != 1 || evs[0].Actor != "admin@example.org" {
			t.Fatalf("audit: %+v", evs)
		}
	})
}

// enrolled makes a supervisor with TOTP (secret "s", enrolled at step 1)
// and returns it with a password-only session.
func enrolled(t *testing.T, db *store.DB) (*cases.User, string) {
	t.Helper()
	u := user(t, db, "sam@example.org", cases.RoleSupervisor)
	sess, err := db.CreateSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.StaffSession(ctx, sess)
	if err != nil || !st.Pending() || st.Enrolled || !st.MayEnrol() {
		t.Fatalf("new supervisor session: %+v %v", st, err)
	}
	if err := db.OfferUserTOTP(ctx, u.ID, "s"); err != nil {
		t.Fatal(err)
	}
	if err := db.EnrolUserTOTP(ctx, sess, "000001", codeOf); err != nil {
		t.Fatal(err)
	}
	if st, _ := db.StaffSession(ctx, sess); st.Pending() {
		t.Fatal("enrolment did not pass the session")
	}
	sess, _ = db.CreateSession(ctx, u.ID)
	return u, sess
}

// The second step: a wrong code refuses, a code used before refuses
// (replay), a right one passes; a recovery code works once; a password-only
// session of an enrolled user may not enrol another factor.
func TestPassSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock(db)
		u, sess := enrolled(t, db)
		st, _ := db.StaffSession(ctx, sess)
		if !st.Pending() || st.MayEnrol() {
			t.Fatalf("password-only session of an enrolled user: %+v", st)
		}
		if err := db.EnrolUserTOTP(ctx, sess, "000002", codeOf); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Fatalf("enrolling from a password-only session: %v", err)
		}
		if _, err := db.PassSecondFactor(ctx, sess, "000009", func(string, string, time.Time) int64 { return 0 }); !errors.Is(err, store.ErrBadCode) {
			t.Fatalf("wrong code: %v", err)
		}
		if _, err := db.PassSecondFactor(ctx, sess, "000001", codeOf); !errors.Is(err, store.ErrBadCode) {
			t.Fatalf("the enrolment's code again: %v", err)
		}
		if _, err := db.PassSecondFactor(ctx, sess, "000002", codeOf); err != nil {
			t.Fatal(err)
		}
		codes, err := db.NewRecoveryCodes(ctx, u.Email, store.UserOwner(u.ID))
		if err != nil || len(codes) != store.RecoveryCodeCount {
			t.Fatalf("codes: %v %v", codes, err)
		}
		s2, _ := db.CreateSession(ctx, u.ID)
		if _, err := db.PassSecondFactor(ctx, s2, " "+strings.ToUpper(codes[3])+" ", codeOf); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		s3, _ := db.CreateSession(ctx, u.ID)
		if _, err := db.PassSecondFactor(ctx, s3, codes[3], codeOf); !errors.Is(err, store.ErrBadCode) {
			t.Fatalf("a spent recovery code: %v", err)
		}
		if n, _ := db.RecoveryCodesLeft(ctx, store.UserOwner(u.ID)); n != store.RecoveryCodeCount-1 {
			t.Errorf("%d codes left", n)
		}
		evs, _ := db.Events(ctx, "user", "1")
		var used bool
		for _, e := range evs {
			if e.Action == "login.second_factor" && strings.Contains(string(e.After), "recovery_code") {
				used = true
			}
		}
		if !used {
			t.Error("the recovery code's use is not in the audit log")
		}
	})
}

// 30 wrong codes sent at once count against the account as 30 wrong
// passwords would: only MaxFailedLogins are checked, and the right code
// after them is refused.
func TestParallelWrongCodesLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock(db)
		_, sess := enrolled(t, db)
		const guesses = 30
		bad, locked := guessAtOnce(t, guesses, store.ErrBadCode, func(i int) error {
			_, err := db.PassSecondFactor(ctx, sess, []string{"000000", "aaaaa-bbbbb"}[i%2], codeOf)
			return err
		})
		if bad != store.MaxFailedLogins-1 || locked != guesses-bad {
			t.Errorf("%d refused as wrong, %d as locked", bad, locked)
		}
		var le *store.LockedError
		if _, err := db.PassSecondFactor(ctx, sess, "000002", codeOf); !errors.As(err, &le) {
			t.Fatalf("the right code after %d parallel guesses: %v", guesses, err)
		}
		if st, _ := db.StaffSession(ctx, sess); !st.Pending() {
			t.Fatal("the session passed while locked")
		}
	})
}

// An unknown email is kept in the audit log only as a hash.
func TestUnknownEmailNotInAuditInClear(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.Authenticate(ctx, "Nobody.Here@Example.org", "my secret password"); !errors.Is(err, store.ErrBadLogin) {
			t.Fatal(err)
		}
		evs, _, err := db.AuditEvents(ctx, store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			all := e.Actor + e.EntityID + string(e.Before) + string(e.After)
			if strings.Contains(strings.ToLower(all), "nobody.here") {
				t.Fatalf("the unknown email is in the audit log: %+v", e)
			}
		}
	})
}

// An officer signs in with a recovery code in place of the TOTP code,
// once; a wrong one counts as a failure; the replay guard on TOTP codes
// survives a recovery-code sign-in; with a passkey and no code the
// password gives a session for the passkey step only.
func TestOfficerRecoveryCodeAndPasskeyStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ag, err := db.CreateAgency(ctx, cases.System, fbi())
		if err != nil {
			t.Fatal(err)
		}
		o, token, err := db.RegisterOfficer(ctx, ag.ID, "kim@fbi.gov", "SA Kim", "", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		db.VerifyOfficer(ctx, token)
		db.SetOfficerSecret(ctx, o.ID, "SECRET")
		if err := db.ConfirmOfficerTOTP(ctx, o.ID, "", "1", steps); err != nil {
			t.Fatal(err)
		}
		if _, mfa, err := db.AuthenticateOfficer(ctx, o.Email, testPassword, "2", steps); err != nil || !mfa {
			t.Fatalf("code 2: %v %v", mfa, err)
		}
		codes, err := db.NewRecoveryCodes(ctx, "agency:"+o.Email, store.OfficerOwner(o.ID))
		if err != nil {
			t.Fatal(err)
		}
		if _, mfa, err := db.AuthenticateOfficer(ctx, o.Email, testPassword, codes[0], steps); err != nil || !mfa {
			t.Fatalf("recovery code: %v %v", mfa, err)
		}
		if _, _, err := db.AuthenticateOfficer(ctx, o.Email, testPassword, codes[0], steps); err != store.ErrOfficerLogin {
			t.Fatalf("a spent recovery code: %v", err)
		}
		if _, _, err := db.AuthenticateOfficer(ctx, o.Email, testPassword, "2", steps); err != store.ErrOfficerLogin {
			t.Fatalf("code 2 replayed after a recovery-code sign-in: %v", err)
		}
		evs, _ := db.Events(ctx, "officer", fmt.Sprint(o.ID))
		fails := 0
		for _, e := range evs {
			if e.Action == "officer.login.fail" && strings.Contains(string(e.After), "wrong recovery code") {
				fails++
			}
		}
		if fails != 1 {
			t.Errorf("%d failures for the spent recovery code, want 1", fails)
		}
		// No passkey: a blank code is a wrong code.
		if _, _, err := db.AuthenticateOfficer(ctx, o.Email, testPassword, "", steps); err != store.ErrOfficerLogin {
			t.Fatalf("blank code without a passkey: %v", err)
		}
		sess, _ := db.CreateOfficerSession(ctx, o.ID, true)
		if err := db.AddPasskey(ctx, store.OfficerSessions, sess, "agency:"+o.Email, store.OfficerOwner(o.ID), "key", "cred-1", `{}`); err != nil {
			t.Fatal(err)
		}
		got, mfa, err := db.AuthenticateOfficer(ctx, o.Email, testPassword, "", steps)
		if err != nil || mfa || got.ID != o.ID {
			t.Fatalf("blank code with a passkey: %v %v", mfa, err)
		}
	})
}
