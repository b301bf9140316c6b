package metadata

import (
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// An EU preservation order is extended once, by 30 days (Art. 11 of
// Regulation (EU) 2023/1543), not by the 90 of a US preservation request.
func TestEUPreservationExtendsBy30Days(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		until := T0.Add(60 * 24 * time.Hour)
		c := f.approve(f.logCase(cases.EUPreservationOrder, []string{"acc_eu"},
			[]cases.Allowed{{Category: cases.Contacts, Rule: "EU-PRESERVATION"}}, &until))
		f.set(T0.Add(50 * 24 * time.Hour))
		p, err := f.s.Extend(ctx, f.intake, c.ID)
		if err != nil || !p.PreserveUntil.Equal(until.Add(30*24*time.Hour)) {
			t.Fatalf("extend: %+v %v", p, err)
		}
		if _, err := f.s.Extend(ctx, f.intake, c.ID); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Fatalf("second extension: %v", err)
		}
	})
}
