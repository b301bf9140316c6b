package retention_test

import (
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A withdrawn case is over like a closed one: its collected pairs go and,
// past Settings.Closed, its sensitive data, audited as for a close.
func TestWithdrawnCasePurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		pr := f.penRegister("+14155550101")
		f.set(T0.Add(time.Hour))
		f.collect("+14155550101", T0.Add(10*time.Minute), T0.Add(20*time.Minute))
		if _, err := db.Withdraw(ctx, f.intake, pr.Number, "the agency withdrew the order"); err != nil {
			t.Fatal(err)
		}
		f.set(T0.Add(100 * day))
		rep := f.purge(retention.Settings{Closed: 90 * day}, false)
		got := purgedOf(rep, pr)
		if got == nil || got.Kind != retention.KindCase || !got.Document || got.Pairs != 2 {
			t.Fatalf("withdrawn case purge: %+v (report %+v)", got, rep)
		}
		if n := f.pairs(pr); n != 0 {
			t.Errorf("%d pairs left", n)
		}
		if evs := f.events(pr, "retention.purge_case"); len(evs) != 1 {
			t.Errorf("purge events: %d", len(evs))
		}
		if c, _ := db.Case(ctx, pr.Number); c == nil || c.Status != cases.StatusWithdrawn {
			t.Errorf("the case row must stay, withdrawn: %+v", c)
		}
		f.verifyAudit()
	})
}
