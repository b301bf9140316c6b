package store_test

import (
	"errors"
	"sync"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// 30 wrong passwords sent at once lock the account after MaxFailedLogins
// of them, and the right password after them is refused: only
// MaxFailedLogins guesses were checked. Reading the row, checking the
// password and then counting let them all be checked (issue 18).
func TestParallelWrongPasswordsLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock(db)
		user(t, db, "ivy@example.org", cases.RoleIntake)
		if err := db.SetPassword(ctx, "test", "ivy@example.org", testPassword, false); err != nil {
			t.Fatal(err)
		}
		const guesses = 30
		bad, locked := guessAtOnce(t, guesses, store.ErrBadLogin, func(int) error {
			_, err := db.Authenticate(ctx, "ivy@example.org", "wrong password")
			return err
		})
		if bad != store.MaxFailedLogins-1 || locked != guesses-bad {
			t.Errorf("%d refused as wrong, %d as locked: want %d wrong", bad, locked, store.MaxFailedLogins-1)
		}
		var le *store.LockedError
		if u, err := db.Authenticate(ctx, "ivy@example.org", testPassword); !errors.As(err, &le) {
			t.Fatalf("the right password after %d parallel guesses: %v %v", guesses, u, err)
		}
		evs, err := db.Events(ctx, "user", "1")
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, e := range evs {
			if e.Action == "login.fail" {
				checked++
			}
		}
		if checked != store.MaxFailedLogins {
			t.Errorf("%d passwords checked, want %d", checked, store.MaxFailedLogins)
		}
	})
}

// guessAtOnce runs n guesses at once and counts how many were refused as
// wrong (the error wrong) and how many as locked; any other answer fails
// the test.
func guessAtOnce(t *testing.T, n int, wrong error, guess func(i int) error) (bad, locked int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- guess(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var le *store.LockedError
		switch {
		case errors.As(err, &le):
			locked++
		case errors.Is(err, wrong):
			bad++
		default:
			t.Fatalf("a guess failed: %v", err)
		}
	}
	return bad, locked
}
