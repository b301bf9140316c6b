package retention_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Holds are placed and released by reviewers, supervisors and admins, with
// a reason, one active hold a case at a time, each change audited; every
// refusal names its reason and writes nothing.
func TestHoldRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.subpoena("+14155550100")
		supervisor := f.user("sam@example.org", cases.RoleSupervisor)
		admin := f.user("ada@example.org", cases.RoleAdmin)
		auditor := f.user("al@example.org", cases.RoleAuditor)
		collector := f.user("svc@example.org", cases.RoleCollector)
		disabled := &cases.User{Email: "gone@example.org", Role: cases.RoleReviewer, Disabled: true}
		head := func() int64 { return f.count("SELECT seq FROM audit_head") }
		start := head()

		refusals := []struct {
			name   string
			actor  *cases.User
			ref    string
			reason string
			code   string
			field  string
		}{
			{"auditor", auditor, c.Number, "litigation", cases.EFORBIDDEN, ""},
			{"intake", f.intake, c.Number, "litigation", cases.EFORBIDDEN, ""},
			{"collector", collector, c.Number, "litigation", cases.EFORBIDDEN, ""},
			{"disabled", disabled, c.Number, "litigation", cases.EFORBIDDEN, ""},
			{"nobody", nil, c.Number, "litigation", cases.EFORBIDDEN, ""},
			{"no reason", f.reviewer, c.Number, "", cases.EINVALID, "reason"},
			{"blank reason", f.reviewer, c.Number, " \t\n", cases.EINVALID, "reason"},
			{"long reason", f.reviewer, c.Number, strings.Repeat("x", retention.MaxReasonLength+1), cases.EINVALID, "reason"},
			{"NUL in reason", f.reviewer, c.Number, "litig\x00ation", cases.EINVALID, "reason"},
			{"reason not UTF-8", f.reviewer, c.Number, "litig\xffation", cases.EINVALID, "reason"},
			{"unknown case", f.reviewer, "LR-2026-999999", "litigation", cases.ENOTFOUND, ""},
		}
		for _, r := range refusals {
			for op, fn := range map[string]func(*store.DB, *cases.User, string, string) error{
				"place": func(db *store.DB, u *cases.User, ref, why string) error {
					_, err := retention.PlaceHold(ctx, db, u, ref, why)
					return err
				},
				"release": func(db *store.DB, u *cases.User, ref, why string) error {
					_, err := retention.ReleaseHold(ctx, db, u, ref, why)
					return err
				},
			} {
				err := fn(db, r.actor, r.ref, r.reason)
				if cases.ErrorCode(err) != r.code || (r.field != "" && cases.ErrorFields(err)[r.field] == "") {
					t.Errorf("%s %s: %v, want %s naming %q", op, r.name, err, r.code, r.field)
				}
			}
		}
		if _, err := retention.ReleaseHold(ctx, db, f.reviewer, c.Number, "nothing held"); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("release without a hold: %v", err)
		}
		if head() != start || f.count("SELECT COUNT(*) FROM legal_holds") != 0 {
			t.Fatal("a refused call wrote something")
		}

		f.set(T0.Add(time.Hour))
		h, err := retention.PlaceHold(ctx, db, supervisor, c.Number, "  preserve for Doe v. Platform  ")
		if err != nil || h.Case != c.Number || h.Reason != "preserve for Doe v. Platform" || h.PlacedBy != supervisor.Email ||
			!h.PlacedAt.Equal(T0.Add(time.Hour)) || h.ReleasedAt != nil {
			t.Fatalf("placed %+v %v", h, err)
		}
		if _, err := retention.PlaceHold(ctx, db, admin, strconv.FormatInt(c.ID, 10), "a second one"); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("second active hold: %v", err)
		}
		if list, err := retention.Holds(ctx, db, false); err != nil || len(list) != 1 || list[0].ID != h.ID {
			t.Fatalf("active holds: %+v %v", list, err)
		}
		f.set(T0.Add(2 * time.Hour))
		r, err := retention.ReleaseHold(ctx, db, admin, c.Number, "settled")
		if err != nil || r.ID != h.ID || r.ReleasedBy != admin.Email || r.ReleaseReason != "settled" || r.ReleasedAt == nil {
			t.Fatalf("released %+v %v", r, err)
		}
		if list, _ := retention.Holds(ctx, db, false); len(list) != 0 {
			t.Errorf("active after release: %+v", list)
		}
		if _, err := retention.PlaceHold(ctx, db, f.reviewer, c.Number, "new litigation"); err != nil {
			t.Fatalf("a new hold after the release: %v", err)
		}
		if list, _ := retention.Holds(ctx, db, true); len(list) != 2 || list[1].ReleaseReason != "settled" {
			t.Errorf("all holds: %+v", list)
		}
		places, releases := f.events(c, "hold.place"), f.events(c, "hold.release")
		if len(places) != 2 || len(releases) != 1 || places[0].Actor != supervisor.Email ||
			!strings.Contains(string(places[0].After), "Doe v. Platform") || !strings.Contains(string(releases[0].After), "settled") {
			t.Errorf("audit: %v %v", places, releases)
		}
		f.verifyAudit()
	})
}

// On PostgreSQL a purge that starts while a hold is being placed on its
// case waits for the hold's transaction and then leaves the case alone:
// without the case lock it would delete, then wait only for the audit
// head, and the log would show the hold before the purge it did not stop.
func TestPurgeWaitsForAHoldBeingPlaced(t *testing.T) {
	db := storetest.Postgres(t)
	f := newFixture(t, db)
	pr, pres := f.penRegister("+14155550101"), f.preservation("+14155550109")
	f.set(T0.Add(time.Hour))
	f.collect("+14155550101", T0.Add(10*time.Minute))
	f.close(pr)
	f.set(T0.Add(100 * day))
	for _, tc := range []struct {
		name   string
		c      *cases.Case
		purge  func() error
		intact func() bool
	}{
		{"retention", pr, func() error {
			_, err := f.purger(retention.Settings{Pairs: day, Closed: day}).Purge(ctx, f.now(), false)
			return err
		}, func() bool {
			return f.pairs(pr) == 1 && f.count("SELECT COUNT(*) FROM case_documents WHERE case_id = ?", pr.ID) == 1
		}},
		{"preservation", pres, func() error {
			_, err := f.meta.Purge(ctx, f.now())
			return err
		}, func() bool { return f.count("SELECT COUNT(*) FROM preserved_records") == 1 }},
	} {
		commit := inOpenTx(db, func(tx *sqlx.Tx) error {
			_, err := retention.PlaceHoldIn(ctx, db, tx, f.reviewer.Email, tc.c, "litigation")
			return err
		})
		purged := make(chan error, 1)
		go func() { purged <- tc.purge() }()
		// Once the purge waits for the hold's transaction, let it commit.
		if waiting, err := storetest.Await(t, db, purged); waiting == nil {
			t.Fatalf("%s purge did not wait for the hold (returned %v)", tc.name, err)
		}
		if err := commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-purged; err != nil {
			t.Fatal(err)
		}
		if !tc.intact() {
			t.Fatalf("%s purge deleted data of a case whose hold it waited for", tc.name)
		}
		f.verifyAudit()
	}
}

// Two people placing a hold on the same case at once: the second waits
// for the first (the case lock) and is then told the case is held, a
// conflict, not a failed write on the one-active-hold index. (A hold
// placed while a purge holds the case's row waits for it without the
// lock: its insert takes a KEY SHARE lock on the case row.)
func TestConcurrentHolds(t *testing.T) {
	db := storetest.Postgres(t)
	f := newFixture(t, db)
	c := f.subpoena("+14155550100")
	commit := inOpenTx(db, func(tx *sqlx.Tx) error {
		_, err := retention.PlaceHoldIn(ctx, db, tx, f.reviewer.Email, c, "litigation")
		return err
	})
	second := make(chan error, 1)
	go func() {
		_, err := retention.PlaceHold(ctx, db, f.reviewer, c.Number, "litigation too")
		second <- err
	}()
	if waiting, err := storetest.Await(t, db, second); waiting == nil {
		t.Fatalf("the second hold did not wait for the first (returned %v)", err)
	}
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-second; cases.ErrorCode(err) != cases.ECONFLICT {
		t.Fatalf("second hold: %v, want a conflict", err)
	}
	if n := len(f.events(c, "hold.place")); n != 1 {
		t.Fatalf("%d hold.place events", n)
	}
}

// Two people releasing the same hold at once: one releases it, the other
// waits for that and is told there is no hold left, so the log records a
// single release.
func TestConcurrentReleases(t *testing.T) {
	db := storetest.Postgres(t)
	f := newFixture(t, db)
	c := f.subpoena("+14155550100")
	if _, err := retention.PlaceHold(ctx, db, f.reviewer, c.Number, "litigation"); err != nil {
		t.Fatal(err)
	}
	commit := inOpenTx(db, func(tx *sqlx.Tx) error {
		_, err := retention.ReleaseHoldIn(ctx, db, tx, f.reviewer.Email, c, "settled")
		return err
	})
	second := make(chan error, 1)
	go func() {
		_, err := retention.ReleaseHold(ctx, db, f.reviewer, c.Number, "settled too")
		second <- err
	}()
	if waiting, err := storetest.Await(t, db, second); waiting == nil {
		t.Fatalf("the second release did not wait for the first (returned %v)", err)
	}
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-second; cases.ErrorCode(err) != cases.ECONFLICT {
		t.Fatalf("second release: %v, want a conflict", err)
	}
	if n := len(f.events(c, "hold.release")); n != 1 {
		t.Fatalf("%d hold.release events", n)
	}
}

// inOpenTx runs fn in a write transaction and keeps the transaction open,
// locks and all, until the returned commit is called; commit returns the
// transaction's error.
func inOpenTx(db *store.DB, fn func(tx *sqlx.Tx) error) (commit func() error) {
	ran, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.Tx(ctx, func(tx *sqlx.Tx) error {
			err := fn(tx)
			close(ran)
			<-release
			return err
		})
	}()
	<-ran
	return func() error {
		close(release)
		return <-done
	}
}
