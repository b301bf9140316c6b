package exporter

import (
	"testing"
	"time"

	"envelope/cases/store/storetest"
)

// An export must not wait for a collector that is storing pairs of the same
// case. The collector's insert takes KEY SHARE on the case row (its foreign
// key check) while it holds the collection state; an approval waits for
// that state while holding the audit head, which the export needs next. An
// export that locked the case FOR UPDATE waited for the collector and
// closed the cycle: PostgreSQL found the deadlock under load and failed a
// request (the crash and soak tests of cmd/envelope). SQLite has one writer
// at a time, so this is PostgreSQL's alone.
func TestExportLeavesCollectorsAlone(t *testing.T) {
	db := storetest.Postgres(t)
	f := newFixture(t, db)
	c := f.penRegister()
	collector := db.Writer().MustBegin()
	defer collector.Rollback()
	if _, err := collector.Exec(`INSERT INTO collected_pairs (case_id, at, from_account, to_account, kind, collected_at)
		VALUES ($1, $2, $3, '+14155550199', 'text', $2)`, c.ID, T0.Add(time.Hour), phone); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := f.exp.Export(ctx, f.intake.Email, c.Number); done <- err }()
	waiting, err := storetest.Await(t, db, done)
	if waiting != nil {
		collector.Rollback()
		<-done
		t.Fatalf("the export waits for a collector's lock on the case: %q", waiting)
	}
	if err != nil {
		t.Fatal(err)
	}
}
