package store_test

import (
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Two requests from an agency not yet in the directory, logged at once,
// both become cases of one agency. On PostgreSQL the second one's insert
// of the agency waits for the first transaction and then used to fail on
// the unique key: a 500 for a valid request (found by the soak test of
// cmd/envelope). SQLite has one writer at a time, so this is PostgreSQL's
// alone; the transaction below stands in for the first request.
func TestNewAgencyRace(t *testing.T) {
	db := storetest.Postgres(t)
	ivy := user(t, db, "ivy@example.org", "intake")
	req := request(t, "subpoena.json")
	first := db.Writer().MustBegin()
	defer first.Rollback()
	first.MustExec("INSERT INTO agencies (name, country) VALUES ($1, $2)", req.Agency.Name, req.Agency.Country)

	done := make(chan error, 1)
	go func() {
		_, err := db.CreateCase(ctx, ivy.Email, store.NewCase{Request: req, Decision: decision("approve")})
		done <- err
	}()
	if waiting, err := storetest.Await(t, db, done); waiting == nil {
		t.Fatalf("logging the case did not wait for the agency's first insert: %v", err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the second request from a new agency failed: %v", err)
	}
	var agencies int
	if err := db.Reader().Get(&agencies, "SELECT COUNT(*) FROM agencies"); err != nil || agencies != 1 {
		t.Fatalf("%d agencies (%v)", agencies, err)
	}
}

// Two admins removing each other at once leave one admin, not none: the
// second change waits for the first and then finds itself the last. The
// transaction below stands in for the first change, as UpdateUser makes it.
func TestLastAdminRace(t *testing.T) {
	db := storetest.Postgres(t)
	ada := user(t, db, "ada@example.org", "admin")
	bob := user(t, db, "bob@example.org", "admin")
	first := db.Writer().MustBegin()
	defer first.Rollback()
	first.MustExec("SELECT id FROM users WHERE role = 'admin' AND NOT disabled FOR UPDATE")
	first.MustExec("UPDATE users SET role = 'reviewer' WHERE id = $1", ada.ID)

	done := make(chan error, 1)
	go func() {
		_, err := db.UpdateUser(ctx, ada.Email, bob.ID, cases.RoleReviewer, false)
		done <- err
	}()
	if waiting, err := storetest.Await(t, db, done); waiting == nil {
		t.Fatalf("demoting the other admin did not wait for the first change: %v", err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; cases.ErrorCode(err) != cases.ECONFLICT {
		t.Fatalf("the last admin was demoted: %v", err)
	}
}
