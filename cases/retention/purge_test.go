package retention_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/exporter/report"
)

// Pairs go once they are older than the limit and a package covers them
// (or their case is closed); pairs not yet disclosed and newer pairs stay.
// The next production still starts where the last one ended.
func TestPairsPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		produced, unproduced, closed := f.penRegister("+14155550101"), f.penRegister("+14155550102"), f.penRegister("+14155550103")

		// Day 0: pairs for all three; the first case is produced, the
		// second never, the third is closed.
		f.set(T0.Add(time.Hour))
		f.collect("+14155550101", T0.Add(10*time.Minute), T0.Add(20*time.Minute), T0.Add(30*time.Minute))
		f.collect("+14155550102", T0.Add(10*time.Minute))
		f.collect("+14155550103", T0.Add(10*time.Minute), T0.Add(20*time.Minute))
		first := f.export(produced)
		f.close(closed)
		// Day 9: a pair produced at once, and one after: both younger
		// than the limit.
		f.set(T0.Add(9 * day))
		f.collect("+14155550101", T0.Add(9*day-2*time.Minute))
		f.export(produced)
		f.collect("+14155550101", T0.Add(9*day-time.Minute))

		f.set(T0.Add(10 * day))
		// Only the cases with pairs to purge are visited: not the one
		// whose old pair was never disclosed.
		due := func() (ids []int64) {
			t.Helper()
			r := db.Reader()
			if err := r.Select(&ids, r.Rebind(retention.PairsDue), f.now().Add(-5*day)); err != nil {
				t.Fatal(err)
			}
			return ids
		}
		if ids := due(); !reflect.DeepEqual(ids, []int64{produced.ID, closed.ID}) {
			t.Errorf("cases due: %v, want %d and %d", ids, produced.ID, closed.ID)
		}
		rep := f.purge(retention.Settings{Pairs: 5 * day}, false)
		if got := f.pairs(produced); got != 2 {
			t.Errorf("produced case keeps %d pairs, want the 2 younger ones", got)
		}
		if got := f.pairs(unproduced); got != 1 {
			t.Errorf("a pair never disclosed was purged: %d left", got)
		}
		if got := f.pairs(closed); got != 0 {
			t.Errorf("closed case keeps %d pairs", got)
		}
		if p := purgedOf(rep, produced); p == nil || p.Pairs != 3 || p.Kind != retention.KindPairs {
			t.Errorf("report for the produced case: %+v", p)
		}
		if p := purgedOf(rep, closed); p == nil || p.Pairs != 2 {
			t.Errorf("report for the closed case: %+v", p)
		}
		if purgedOf(rep, unproduced) != nil || len(rep.Purged) != 2 {
			t.Errorf("report: %+v", rep.Purged)
		}
		evs := f.events(produced, "retention.purge_pairs")
		if len(evs) != 1 || evs[0].Actor != retention.Actor || !strings.Contains(string(evs[0].After), `"pairs_deleted":3`) ||
			strings.Contains(string(evs[0].After), "peer-") {
			t.Errorf("audit events: %v", evs)
		}
		f.verifyAudit()

		// A second purge finds nothing more, nor visits a case.
		if ids := due(); len(ids) != 0 {
			t.Errorf("cases due after the purge: %v", ids)
		}
		if rep := f.purge(retention.Settings{Pairs: 5 * day}, false); len(rep.Purged) != 0 {
			t.Errorf("second purge: %+v", rep.Purged)
		}
		// The next package holds exactly the pair collected after the second.
		third := f.export(produced)
		if third.Records != 1 {
			t.Errorf("third package after the purge holds %d records, want 1", third.Records)
		}
		if third.LastPairID < first.LastPairID {
			t.Errorf("cursor went back: %d < %d", third.LastPairID, first.LastPairID)
		}
	})
}

// Purging the newest pairs of the table must not let a new pair take an
// ID at or below a package's cursor, where the next production would never
// see it. (A plain SQLite rowid table reuses MAX(id)+1; the migration
// rebuilds the table with AUTOINCREMENT.)
func TestPurgedPairIDsAreNotReused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.penRegister("+14155550101")
		f.set(T0.Add(time.Hour))
		f.collect("+14155550101", T0.Add(10*time.Minute), T0.Add(20*time.Minute), T0.Add(30*time.Minute))
		pkg := f.export(c)
		f.set(T0.Add(10 * day))
		f.purge(retention.Settings{Pairs: 5 * day}, false)
		if n := f.count("SELECT COUNT(*) FROM collected_pairs"); n != 0 {
			t.Fatalf("%d pairs left", n)
		}
		f.collect("+14155550101", T0.Add(10*day-time.Minute))
		if id := f.count("SELECT MAX(id) FROM collected_pairs"); id <= pkg.LastPairID {
			t.Fatalf("new pair got ID %d, at or below the package's last pair %d", id, pkg.LastPairID)
		}
		due, err := f.exp.Due(ctx)
		if err != nil || len(due) != 1 || due[0] != c.ID {
			t.Fatalf("the new pair is not due for production: %v %v", due, err)
		}
		if next := f.export(c); next.Records != 1 {
			t.Fatalf("next package holds %d records, want the new pair", next.Records)
		}
	})
}

// A legal hold keeps everything of its case, from every purge; once it is
// released the next purge runs.
func TestLegalHoldStopsPurges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		pr, pres := f.penRegister("+14155550101"), f.preservation("+14155550109")
		f.set(T0.Add(time.Hour))
		f.collect("+14155550101", T0.Add(10*time.Minute), T0.Add(20*time.Minute))
		f.export(pr)
		f.close(pr)
		f.close(pres)
		for _, c := range []*cases.Case{pr, pres} {
			if _, err := retention.PlaceHold(ctx, db, f.reviewer, c.Number, "litigation: Doe v. Platform"); err != nil {
				t.Fatal(err)
			}
		}
		all := retention.Settings{Pairs: day, Closed: day}
		f.set(T0.Add(200 * day)) // past every limit and the preservation's end
		rep := f.purge(all, false)
		if n, err := f.meta.Purge(ctx, f.now()); err != nil || n != 0 {
			t.Errorf("preservation purge of a held case: %d %v", n, err)
		}
		if len(rep.Purged) != 0 || skippedOf(rep, pr) != "under a legal hold" || skippedOf(rep, pres) == "" {
			t.Errorf("held cases purged: %+v skipped %+v", rep.Purged, rep.Skipped)
		}
		if f.pairs(pr) != 2 || f.count("SELECT COUNT(*) FROM case_documents") != 2 ||
			f.count("SELECT COUNT(*) FROM preserved_records") != 1 || f.count("SELECT COUNT(*) FROM cases WHERE purged_at IS NOT NULL") != 0 {
			t.Fatal("a held case lost data")
		}
		if n := f.count("SELECT COUNT(*) FROM blobs"); n != 1 {
			t.Errorf("%d packages stored, want the held one", n)
		}

		for _, c := range []*cases.Case{pr, pres} {
			if _, err := retention.ReleaseHold(ctx, db, f.reviewer, c.Number, "litigation settled"); err != nil {
				t.Fatal(err)
			}
		}
		rep = f.purge(all, false)
		if f.pairs(pr) != 0 || f.count("SELECT COUNT(*) FROM case_documents") != 0 || f.count("SELECT COUNT(*) FROM preserved_records") != 0 {
			t.Errorf("released cases not purged: %+v", rep)
		}
		if n := f.count("SELECT COUNT(*) FROM blobs"); n != 0 {
			t.Errorf("%d packages left in the store", n)
		}
		f.verifyAudit()
	})
}

// The preservation purge (cases/metadata) honours a legal hold too, and
// purges once it is released.
func TestLegalHoldStopsPreservationPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		pres := f.preservation("+14155550109")
		if _, err := retention.PlaceHold(ctx, db, f.reviewer, pres.Number, "grand jury subpoena expected"); err != nil {
			t.Fatal(err)
		}
		f.set(T0.Add(100 * day))
		if n, err := f.meta.Purge(ctx, f.now()); err != nil || n != 0 {
			t.Fatalf("held preservation purged: %d %v", n, err)
		}
		if recs, err := f.meta.Preserved(ctx, pres.ID); err != nil || len(recs) != 1 {
			t.Fatalf("held records: %v %v", recs, err)
		}
		if _, err := retention.ReleaseHold(ctx, db, f.reviewer, pres.Number, "no longer needed"); err != nil {
			t.Fatal(err)
		}
		if n, err := f.meta.Purge(ctx, f.now()); err != nil || n != 1 {
			t.Fatalf("released preservation: %d %v", n, err)
		}
	})
}

// A closed case past the limit loses its document, pairs, preserved
// records and package files; the transparency report's figures, the
// case's record and the record of what was disclosed stay.
func TestClosedCasePurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		sub, pr, pres, recent := f.subpoena("+14155550100"), f.penRegister("+14155550101"), f.preservation("+14155550109"), f.subpoena("+14155550108")
		running := f.preservation("+14155550107")
		f.set(T0.Add(time.Hour))
		if _, err := f.meta.Extend(ctx, f.intake, running.ID); err != nil { // to day 180
			t.Fatal(err)
		}
		f.collect("+14155550101", T0.Add(10*time.Minute), T0.Add(20*time.Minute))
		subPkg, prPkg := f.export(sub), f.export(pr)
		if err := db.AddNote(ctx, f.intake, sub.Number, "spoke to the ADA"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*cases.Case{sub, pr, pres, running} {
			f.close(c)
		}
		f.set(T0.Add(100 * day))
		f.close(recent) // younger than the limit

		periods := []report.Period{{Year: 2026, Kind: 'Q', N: 4}}
		tally := func() []report.Row {
			rows, err := report.Tally(ctx, db, periods[0])
			if err != nil {
				t.Fatal(err)
			}
			return rows
		}
		before := tally()
		keep := map[string]int64{}
		for _, q := range []string{"SELECT COUNT(*) FROM cases", "SELECT COUNT(*) FROM case_notes", "SELECT COUNT(*) FROM case_targets",
			"SELECT COUNT(*) FROM packages", "SELECT COUNT(*) FROM preservations", "SELECT COUNT(*) FROM collection_windows"} {
			keep[q] = f.count(q)
		}

		f.set(T0.Add(130 * day)) // pres's preservation ended at day 90
		rep := f.purge(retention.Settings{Closed: 90 * day}, false)

		if got := tally(); !reflect.DeepEqual(got, before) {
			t.Errorf("the report changed:\nbefore %+v\nafter  %+v", before, got)
		}
		for q, n := range keep {
			if got := f.count(q); got != n {
				t.Errorf("%s: %d, was %d", q, got, n)
			}
		}
		want := map[*cases.Case]retention.Purged{
			sub:  {Document: true, PackageFiles: []string{subPkg.FileName}},
			pr:   {Document: true, Pairs: 2, PackageFiles: []string{prPkg.FileName}},
			pres: {Document: true, PreservedRecords: 1},
		}
		for c, w := range want {
			got := purgedOf(rep, c)
			if got == nil || got.Kind != retention.KindCase || got.Document != w.Document || got.Pairs != w.Pairs ||
				got.PreservedRecords != w.PreservedRecords || !reflect.DeepEqual(got.PackageFiles, w.PackageFiles) {
				t.Errorf("%s: purged %+v, want %+v", c.Number, got, w)
			}
			if _, _, err := db.Document(ctx, c.Number); cases.ErrorCode(err) != cases.ENOTFOUND {
				t.Errorf("%s: document still there: %v", c.Number, err)
			}
			ev := f.events(c, "retention.purge_case")
			if len(ev) != 1 || !strings.Contains(string(ev[0].After), `"document_deleted":true`) {
				t.Errorf("%s: audit %v", c.Number, ev)
			}
		}
		if len(rep.Purged) != 3 {
			t.Errorf("purged %+v", rep.Purged)
		}
		if skippedOf(rep, running) == "" || purgedOf(rep, recent) != nil || purgedOf(rep, running) != nil {
			t.Errorf("running preservation or recent case purged: %+v %+v", rep.Purged, rep.Skipped)
		}
		if f.pairs(pr) != 0 || f.count("SELECT COUNT(*) FROM preserved_records") != 1 { // running's record stays
			t.Error("pairs or preserved records left")
		}
		if f.count("SELECT COUNT(*) FROM case_documents") != 2 { // recent and running
			t.Error("documents of unpurged cases gone")
		}
		if f.stored(subPkg) {
			t.Error("package still stored")
		}
		if f.count("SELECT COUNT(*) FROM cases WHERE purged_at IS NOT NULL") != 3 {
			t.Error("purged cases not marked")
		}
		if p, err := f.meta.Preservation(ctx, pres.ID); err != nil || p.PurgedAt == nil {
			t.Errorf("preservation not marked purged: %+v %v", p, err)
		}
		// The case still reads, with its request, decision and notes; the
		// packages are still listed with their hashes.
		c, err := db.Case(ctx, sub.Number)
		if err != nil || c.Decision == nil || len(c.Targets) != 1 || len(c.Notes) != 2 || c.Document != nil {
			t.Errorf("purged case reads %+v %v", c, err)
		}
		pkgs, err := f.exp.Packages(ctx, sub.Number)
		if err != nil || len(pkgs) != 1 || pkgs[0].SHA256 != subPkg.SHA256 {
			t.Errorf("packages of a purged case: %+v %v", pkgs, err)
		}
		if _, _, err := f.exp.Open(ctx, sub.Number, subPkg.FileName); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("opening a purged package: %v", err)
		}
		f.verifyAudit()

		// Nothing is purged twice.
		if rep := f.purge(retention.Settings{Closed: 90 * day}, false); len(rep.Purged) != 0 {
			t.Errorf("second purge: %+v", rep.Purged)
		}
	})
}

// Late pairs kept for a case after it was purged go at the next purge.
func TestLatePairsOfPurgedCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		pr := f.penRegister("+14155550101")
		f.set(T0.Add(2 * day))
		f.close(pr)
		f.set(T0.Add(4 * day))
		rep := f.purge(retention.Settings{Closed: day}, false)
		if p := purgedOf(rep, pr); p == nil || p.Pairs != 0 {
			t.Fatalf("purge: %+v", rep)
		}
		// A late batch stamped before the close, inside the window.
		f.collect("+14155550101", T0.Add(day))
		rep = f.purge(retention.Settings{Closed: day}, false)
		if p := purgedOf(rep, pr); p == nil || p.Pairs != 1 || f.pairs(pr) != 0 {
			t.Fatalf("late pair: %+v", rep)
		}
	})
}

// A dry run reports exactly what the real purge then does, and changes
// nothing: not a row, not the audit log, not a file.
func TestDryRunWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		pr, closedPr, sub := f.penRegister("+14155550101"), f.penRegister("+14155550102"), f.subpoena("+14155550100")
		f.set(T0.Add(time.Hour))
		f.collect("+14155550101", T0.Add(10*time.Minute), T0.Add(20*time.Minute))
		f.collect("+14155550102", T0.Add(10*time.Minute))
		f.export(pr)
		f.export(sub)
		f.close(sub)
		f.close(closedPr) // its pair is due under both settings
		f.set(T0.Add(100 * day))
		all := retention.Settings{Pairs: day, Closed: day}

		state := func() string {
			var b strings.Builder
			for _, q := range []string{"SELECT COUNT(*) FROM collected_pairs", "SELECT COUNT(*) FROM case_documents",
				"SELECT COUNT(*) FROM cases WHERE purged_at IS NOT NULL", "SELECT seq FROM audit_head", "SELECT COUNT(*) FROM blobs"} {
				fmt.Fprintf(&b, "%s = %d\n", q, f.count(q))
			}
			files, _ := os.ReadDir(f.pkgDir)
			for _, e := range files {
				b.WriteString(e.Name() + "\n")
			}
			return b.String()
		}
		before := state()
		dry := f.purge(all, true)
		if got := state(); got != before {
			t.Fatalf("the dry run changed the database:\n%s\nwas\n%s", got, before)
		}
		if !dry.DryRun || len(dry.Purged) != 3 {
			t.Fatalf("dry run: %+v", dry)
		}
		real := f.purge(all, false)
		dryJSON, _ := json.Marshal(dry.Purged)
		realJSON, _ := json.Marshal(real.Purged)
		if string(dryJSON) != string(realJSON) {
			t.Errorf("the dry run said\n%s\nthe purge did\n%s", dryJSON, realJSON)
		}
		if state() == before {
			t.Error("the real purge changed nothing")
		}
	})
}

// A case whose purge fails half-way keeps everything (its transaction
// rolls back); the other cases are purged and the error names the case.
func TestFailedCasePurgeLeavesNothingHalfDone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		pres, sub := f.preservation("+14155550109"), f.subpoena("+14155550100")
		f.close(pres)
		f.close(sub)
		// Deleting preserved records fails: after the document was deleted
		// in the same transaction.
		w := db.Writer()
		if db.Dialect == store.Postgres {
			w.MustExec(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`)
			w.MustExec(`CREATE TRIGGER refuse BEFORE DELETE ON preserved_records FOR EACH ROW EXECUTE FUNCTION refuse()`)
		} else {
			w.MustExec(`CREATE TRIGGER refuse BEFORE DELETE ON preserved_records BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
		}
		f.set(T0.Add(100 * day))
		rep, err := f.purger(retention.Settings{Closed: day}).Purge(ctx, f.now(), false)
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("err = %v", err)
		}
		if purgedOf(rep, sub) == nil || purgedOf(rep, pres) != nil {
			t.Errorf("report: %+v", rep.Purged)
		}
		if _, _, err := db.Document(ctx, pres.Number); err != nil {
			t.Errorf("the failed case lost its document: %v", err)
		}
		if n := f.count("SELECT COUNT(*) FROM cases WHERE purged_at IS NOT NULL AND id = ?", pres.ID); n != 0 {
			t.Error("the failed case is marked purged")
		}
		if len(f.events(pres, "retention.purge_case")) != 0 {
			t.Error("the failed case's purge was audited")
		}
		f.verifyAudit()
	})
}

// Package files of a purged case left behind (a crash after the commit)
// are deleted by the next purge, unless the case was put under a hold.
func TestLeftoverPackageFilesAreDeleted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		sub := f.subpoena("+14155550100")
		pkg := f.export(sub)
		f.close(sub)
		f.set(T0.Add(100 * day))
		crashed := f.purger(retention.Settings{Closed: day})
		crashed.Blobs, crashed.PackageDir = nil, "" // as if the process died before deleting files
		if _, err := crashed.Purge(ctx, f.now(), false); err != nil {
			t.Fatal(err)
		}
		if !f.stored(pkg) {
			t.Fatal("setup: the package is not stored")
		}
		// A hold placed meanwhile keeps the file.
		if _, err := retention.PlaceHold(ctx, db, f.reviewer, sub.Number, "litigation"); err != nil {
			t.Fatal(err)
		}
		f.purge(retention.Settings{Closed: day}, false)
		if !f.stored(pkg) {
			t.Fatal("the package of a held case was deleted")
		}
		if _, err := retention.ReleaseHold(ctx, db, f.reviewer, sub.Number, "settled"); err != nil {
			t.Fatal(err)
		}
		rep := f.purge(retention.Settings{Closed: day}, false)
		if len(rep.Purged) != 0 {
			t.Errorf("purged twice: %+v", rep.Purged)
		}
		if f.stored(pkg) {
			t.Error("leftover package")
		}
	})
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"0", 0, false}, {"90d", 90 * day, false}, {"2160h", 90 * day, false}, {"36h30m", 36*time.Hour + 30*time.Minute, false},
		{" 7d ", 7 * day, false}, {"", 0, true}, {"-1h", 0, true}, {"-3d", 0, true}, {"abc", 0, true}, {"1.5d", 0, true}, {"d", 0, true},
		// A time.Duration holds 106751 days; more would wrap around.
		{"106751d", 106751 * day, false}, {"106752d", 0, true}, {"150000d", 0, true}, {"250000d", 0, true},
	} {
		got, err := retention.ParseDuration(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tc.in, got, err)
		}
	}
	for d, want := range map[time.Duration]string{90 * day: "90d", 0: "0", 36 * time.Hour: "36h0m0s"} {
		if got := retention.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %s, want %s", d, got, want)
		}
	}
	err := retention.Settings{Pairs: -time.Hour, Closed: -day}.Validate()
	if f := cases.ErrorFields(err); cases.ErrorCode(err) != cases.EINVALID || f["retain_pairs"] == "" || f["retain_closed"] == "" {
		t.Errorf("negative settings: %v", err)
	}
	if (retention.Settings{}).Enabled() || !(retention.Settings{Closed: day}).Enabled() {
		t.Error("Enabled")
	}
	db := storetest.SQLite(t)
	if _, err := (&retention.Purger{DB: db, Settings: retention.Settings{Pairs: -1}}).Purge(ctx, time.Now(), true); cases.ErrorCode(err) != cases.EINVALID {
		t.Errorf("purge with bad settings: %v", err)
	}
}
