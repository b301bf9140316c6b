package metadata

import (
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// The dashboard's reminders: open collection windows ending within the
// range, one line per case at its first window to end, soonest first; and
// unpurged preservation holds ending within the range. Windows not yet
// open, already ended or closed early, and holds purged or far off, are
// left out.
func TestDeadlines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		day := 24 * time.Hour
		soon := f.penRegister([]string{"+14155550001", "+14155550002"}, T0.Add(-day), T0.Add(3*day)) // 4 windows
		sooner := f.penRegister([]string{"+14155550003"}, T0.Add(-day), T0.Add(2*day))               // 2 windows
		later := f.penRegister([]string{"+14155550004"}, T0.Add(-day), T0.Add(30*day))               // outside
		notYet := f.penRegister([]string{"+14155550005"}, T0.Add(day), T0.Add(4*day))                // opens later
		withdrawn := f.penRegister([]string{"+14155550006"}, T0.Add(-day), T0.Add(5*day))            // closed early
		f.close(withdrawn)
		_, _ = later, notYet

		got, more, err := f.s.ClosingWindows(ctx, T0, T0.Add(7*day), 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []Deadline{{CaseID: sooner.ID, Number: sooner.Number, At: T0.Add(2 * day), Count: 2},
			{CaseID: soon.ID, Number: soon.Number, At: T0.Add(3 * day), Count: 4}}
		if more || len(got) != len(want) {
			t.Fatalf("closing windows: %+v (more %v), want %+v", got, more, want)
		}
		for i := range want {
			if got[i].CaseID != want[i].CaseID || got[i].Number != want[i].Number || !got[i].At.Equal(want[i].At) || got[i].Count != want[i].Count {
				t.Errorf("closing window %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		if got, more, err := f.s.ClosingWindows(ctx, T0, T0.Add(7*day), 1); err != nil || len(got) != 1 || !more || got[0].CaseID != sooner.ID {
			t.Errorf("limit 1: %+v more %v %v", got, more, err)
		}

		until := T0.Add(10 * day)
		hold := f.approve(f.logCase(cases.Preservation, []string{"+14155550007"}, []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "PRESERVATION"}}, &until))
		farUntil := T0.Add(90 * day)
		far := f.approve(f.logCase(cases.Preservation, []string{"+14155550008"}, []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "PRESERVATION"}}, &farUntil))
		holds, more, err := f.s.ExpiringHolds(ctx, T0, T0.Add(14*day), 10)
		if err != nil || more || len(holds) != 1 || holds[0].CaseID != hold.ID || !holds[0].At.Equal(until) || holds[0].Extended {
			t.Fatalf("expiring holds: %+v more %v %v", holds, more, err)
		}
		if _, err := f.s.Extend(ctx, f.intake, hold.ID); err != nil {
			t.Fatal(err)
		}
		// Extended by 90 days: no longer expiring within two weeks, but
		// within a hundred days, marked extended.
		if holds, _, err := f.s.ExpiringHolds(ctx, T0, T0.Add(14*day), 10); err != nil || len(holds) != 0 {
			t.Errorf("after the extension: %+v %v", holds, err)
		}
		holds, _, err = f.s.ExpiringHolds(ctx, T0, T0.Add(100*day), 10)
		if err != nil || len(holds) != 2 || holds[0].CaseID != far.ID || holds[0].Extended || holds[1].CaseID != hold.ID || !holds[1].Extended {
			t.Errorf("within 100 days: %+v %v", holds, err)
		}
		// Once purged, a hold is gone from the reminders.
		f.set(T0.Add(200 * day))
		if _, err := f.s.Purge(ctx, f.db.Now()); err != nil {
			t.Fatal(err)
		}
		if holds, _, err := f.s.ExpiringHolds(ctx, T0, T0.Add(300*day), 10); err != nil || len(holds) != 0 {
			t.Errorf("after the purge: %+v %v", holds, err)
		}
	})
}
