package web

import (
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// The dashboard's shared panels are kept for a moment (sharedPanels): a
// write through this server shows at once, a write by another process once
// the copy ages out, and "my queue" is never shared between people.
func TestDashboardPanelsFresh(t *testing.T) {
	db := storetest.SQLite(t)
	p := newPortal(t, db)
	emergencies := func() string {
		t.Helper()
		page := p.page(cases.RoleSupervisor, "GET", "/dashboard", nil).Body.String()
		i := strings.Index(page, "Emergencies (")
		if i < 0 {
			t.Fatalf("no emergencies panel:\n%s", page)
		}
		return page[i : i+len("Emergencies (1)")]
	}
	now := time.Now().UTC()
	fixClock(p.fixture, now)
	if got := emergencies(); got != "Emergencies (0)" {
		t.Fatalf("empty store: %s", got)
	}
	// Logged here: seen at once, though the clock has not moved.
	p.create(cases.RoleIntake, "emergency.json")
	other := p.create(cases.RoleIntake, "subpoena.json")
	if got := emergencies(); got != "Emergencies (1)" {
		t.Fatalf("after logging an emergency here: %s", got)
	}
	// Another process (a second handle on the same file) turns the
	// subpoena into an emergency: this server's copy holds until it ages.
	db2, err := store.Open(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.Tx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.Exec("UPDATE cases SET process_type = 'emergency' WHERE id = ?", other.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := emergencies(); got != "Emergencies (1)" {
		t.Fatalf("the copy was not kept: %s", got)
	}
	fixClock(p.fixture, now.Add(panelsMaxAge))
	if got := emergencies(); got != "Emergencies (2)" {
		t.Fatalf("after %v: %s", panelsMaxAge, got)
	}

	// My queue is each person's own, read on every visit.
	if err := db2.Tx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.Exec("UPDATE cases SET assignee = ? WHERE id = ?", p.emails[cases.RoleReviewer], other.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mine := func(role cases.Role) bool {
		page := p.page(role, "GET", "/dashboard", nil).Body.String()
		i, j := strings.Index(page, `id="h-mine"`), strings.Index(page, `id="h-awaiting"`)
		if i < 0 || j < i {
			t.Fatalf("no my-queue panel as %s", role)
		}
		return strings.Contains(page[i:j], other.Number)
	}
	if !mine(cases.RoleReviewer) || mine(cases.RoleSupervisor) {
		t.Errorf("my queue: the reviewer's case shown to the reviewer %v, to the supervisor %v", mine(cases.RoleReviewer), mine(cases.RoleSupervisor))
	}
}
