package metadata

import (
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A supervisor's reopen of a withdrawn case gives its stopped windows
// their authorised end back while it is ahead, and collection resumes; a
// window whose end has passed stays ended. Both steps are audited.
func TestReopenResumesWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		x := "+14155550123"
		c := f.penRegister([]string{x}, day(19), day(30))
		f.set(T0.Add(time.Hour))
		if _, err := db.Withdraw(ctx, f.intake, c.Number, "the agency withdrew the order"); err != nil {
			t.Fatal(err)
		}
		ws, _ := f.s.Windows(ctx, c.ID)
		if len(ws) == 0 || ws[0].ClosedAt == nil || ws[0].Active(T0.Add(2*time.Hour)) {
			t.Fatalf("window after withdrawal: %+v", ws)
		}
		sup := f.user("sam@example.org", cases.RoleSupervisor)
		f.set(T0.Add(2 * time.Hour))
		if _, err := db.ReopenCase(ctx, sup, c.Number, "the agency renewed its request"); err != nil {
			t.Fatal(err)
		}
		ws, _ = f.s.Windows(ctx, c.ID)
		for _, w := range ws {
			if w.ClosedAt != nil || !w.EndsAt.Equal(w.ClosesAt) || !w.Active(T0.Add(3*time.Hour)) {
				t.Fatalf("window after reopen: %+v", w)
			}
		}
		if acts := f.actions(c); acts["collection.close"] != 1 || acts["collection.reopen"] != 1 || acts["case.reopen"] != 1 {
			t.Fatalf("audit: %v", acts)
		}
		// Closed again, and reopened after the authorised end: nothing resumes.
		f.close(c)
		f.set(ws[0].ClosesAt.Add(time.Hour))
		if _, err := db.ReopenCase(ctx, sup, c.Number, "late reopen"); err != nil {
			t.Fatal(err)
		}
		ws, _ = f.s.Windows(ctx, c.ID)
		if ws[0].ClosedAt == nil {
			t.Fatalf("a window past its end reopened: %+v", ws[0])
		}
		if acts := f.actions(c); acts["collection.reopen"] != 1 {
			t.Fatalf("audit after the late reopen: %v", acts)
		}
		f.verifyAudit()
	})
}
