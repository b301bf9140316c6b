package exporter

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A production that finds no records is refused until confirmed, leaves no
// file or row behind, and once confirmed is recorded as no data found: not
// the produced flag the report counts.
func TestNoDataProduction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		w := f.warrant() // no metadata imported: nothing to find
		if _, err := f.exp.ExportIfRecords(ctx, f.reviewer.Email, w.Number); !errors.Is(err, ErrNoRecords) {
			t.Fatalf("export without records: %v, want ErrNoRecords", err)
		}
		if pkgs, _ := ListPackages(ctx, db, w.ID); len(pkgs) != 0 {
			t.Fatalf("an unconfirmed empty production left %d packages", len(pkgs))
		}
		if names, _ := os.ReadDir(f.exp.Dir); len(names) != 0 {
			t.Fatalf("an unconfirmed empty production left files: %v", names)
		}
		if n := countBlobs(t, db); n != 0 {
			t.Fatalf("an unconfirmed empty production left %d stored blobs", n)
		}
		pkg := f.export(w)
		got, err := db.Case(ctx, w.Number)
		if err != nil {
			t.Fatal(err)
		}
		if pkg.Records != 0 || got.Result != cases.ResultNoData || got.Produced || got.Status != cases.StatusProduced {
			t.Errorf("no-data production: records %d, result %q, produced %v, status %s", pkg.Records, got.Result, got.Produced, got.Status)
		}
	})
}

// The package follows the shaped decision exactly: only the categories
// kept, inside the narrowed window, and none of a withheld target's data.
func TestShapedPackage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.importFile("records.ndjson")
		w := f.warrant()
		narrow := &cases.Window{From: octWindow.From.AddDate(0, 0, 10), To: octWindow.From.AddDate(0, 0, 20)}
		shape := cases.Shape{
			Categories: []cases.Category{cases.BasicSubscriberInfo, cases.IPLogs},
			Window:     narrow,
			Targets:    []cases.TargetDecision{{Value: account, Reason: "not the platform's user"}},
			Reason:     "court narrowed the order at the hearing",
		}
		if _, err := db.ShapeDecision(ctx, f.reviewer, w.Number, shape); err != nil {
			t.Fatal(err)
		}
		files := unzip(t, f.path(f.export(w)))
		for name, b := range files {
			if strings.HasPrefix(name, "records/") && !strings.HasPrefix(name, "records/basic_subscriber_info.") && !strings.HasPrefix(name, "records/ip_logs.") {
				t.Errorf("%s is in the package, but the shape kept only subscriber info and IP logs", name)
			}
			if strings.Contains(string(b), account) && strings.HasPrefix(name, "records/") {
				t.Errorf("%s holds the withheld target %s", name, account)
			}
		}
		var ips []struct {
			At time.Time `json:"at"`
		}
		if err := json.Unmarshal(files["records/ip_logs.json"], &ips); err != nil {
			t.Fatalf("ip_logs.json: %v", err)
		}
		if len(ips) == 0 {
			t.Fatal("no IP logs in the shaped window: the test proves nothing")
		}
		for _, r := range ips {
			if !narrow.Contains(r.At) {
				t.Errorf("IP log at %s is outside the shaped window", r.At)
			}
		}
	})
}

// A shape can only narrow: a category the decision does not allow, a
// window wider than the policy's, or a target not in the case is refused
// naming the field, and nothing is written.
func TestShapeOnlyNarrows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		w := f.warrant()
		for _, bad := range []struct {
			shape cases.Shape
			field string
		}{
			{cases.Shape{Categories: []cases.Category{cases.MessageContent}, Reason: "r"}, "categories[0]"},
			{cases.Shape{Window: &cases.Window{From: octWindow.From.AddDate(0, -1, 0), To: octWindow.To}, Reason: "r"}, "window"},
			{cases.Shape{Targets: []cases.TargetDecision{{Value: "+15550000000", Reason: "r"}}, Reason: "r"}, "targets[0].value"},
			{cases.Shape{Targets: []cases.TargetDecision{{Value: phone}}, Reason: "r"}, "targets[0].reason"},
			{cases.Shape{Categories: []cases.Category{cases.IPLogs}}, "reason"},
		} {
			_, err := db.ShapeDecision(ctx, f.reviewer, w.Number, bad.shape)
			if cases.ErrorCode(err) != cases.EINVALID || cases.ErrorFields(err)[bad.field] == "" {
				t.Errorf("shape %+v: %v, want a 400 naming %s", bad.shape, err, bad.field)
			}
		}
		if _, err := db.DecideTarget(ctx, f.reviewer, w.Number, cases.TargetDecision{Value: "nobody", Reason: "x"}); cases.ErrorCode(err) != cases.EINVALID {
			t.Errorf("deciding a target not in the case: %v", err)
		}
		if _, err := db.ShapeDecision(ctx, f.intake, w.Number, cases.Shape{Reason: "r"}); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Errorf("intake shaping: %v", err)
		}
		if got, _ := db.Case(ctx, w.Number); got.Shape != nil {
			t.Errorf("a refused shape was stored: %+v", got.Shape)
		}
		// Withholding every target leaves nothing to produce.
		if _, err := db.DecideTarget(ctx, f.reviewer, w.Number, cases.TargetDecision{Value: phone, Reason: "protected account"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.DecideTarget(ctx, f.reviewer, w.Number, cases.TargetDecision{Value: account, Reason: "not our user"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.exp.Export(ctx, f.reviewer.Email, w.Number); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("export with every target withheld: %v", err)
		}
	})
}

// The agency's withdrawal of a pen register ends its collection windows
// and takes it off the production schedule.
func TestWithdrawalStopsCollection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		pen := f.penRegister()
		f.set(T0.Add(time.Hour))
		f.collect(pairLine(phone, "+14155550188", T0.Add(10*time.Minute)))
		f.export(pen)
		f.set(T0.Add(3 * time.Hour))
		f.collect(pairLine(phone, "+14155550199", T0.Add(150*time.Minute)))
		if due, _ := f.exp.Due(ctx); len(due) != 1 {
			t.Fatalf("due before the withdrawal: %v", due)
		}
		if _, err := db.Withdraw(ctx, f.intake, pen.Number, "agency letter: investigation closed"); err != nil {
			t.Fatal(err)
		}
		ws, err := f.meta.Windows(ctx, pen.ID)
		if err != nil || len(ws) == 0 {
			t.Fatalf("windows %v %v", ws, err)
		}
		for _, w := range ws {
			if w.Active(db.Now()) || w.ClosedAt == nil {
				t.Errorf("window %s still collecting after the withdrawal", w.Category)
			}
		}
		if due, _ := f.exp.Due(ctx); len(due) != 0 {
			t.Errorf("a withdrawn order is still scheduled: %v", due)
		}
		if _, err := f.exp.Export(ctx, f.reviewer.Email, pen.Number); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("export after the withdrawal: %v", err)
		}
	})
}

// A notify decision holds the production until the notice is recorded;
// an order bars sending it until it lapses; an extension moves the lapse,
// and the reminder lists an order about to lapse.
func TestNoticeHoldsProduction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.importFile("records.ndjson")
		c := f.logCase(cases.SearchWarrant, []string{phone}, []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "US-WARRANT"}}, nil)
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET decision_json = REPLACE(decision_json, '\"delayed\"', '\"notify\"') WHERE id = ?"), c.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c = f.approve(c)
		if _, err := f.exp.Export(ctx, f.reviewer.Email, c.Number); cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), "held") {
			t.Fatalf("export before the notice: %v", err)
		}
		lapse := T0.Add(10 * 24 * time.Hour)
		n, err := db.AddNDO(ctx, f.intake, c.Number, cases.NDO{Court: "N.D. Cal.", Reference: "NDO-1", ExpiresAt: &lapse})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddNDO(ctx, f.intake, c.Number, cases.NDO{Court: " "}); cases.ErrorFields(err)["court"] == "" {
			t.Errorf("an order without its court: %v", err)
		}
		if _, err := db.RecordNotice(ctx, f.intake, c.Number, cases.NoticeKindSent, "e-mail", ""); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("sending a notice an order bars: %v", err)
		}
		// Barred, the notice is not due: production goes ahead.
		f.export(c)
		items, err := db.LapsingNDOs(ctx, T0, T0.Add(14*24*time.Hour), 10)
		if err != nil || len(items) != 1 || items[0].Case.ID != c.ID || items[0].Notice.State != cases.NoticeBarred {
			t.Fatalf("reminder: %+v %v", items, err)
		}
		if _, err := db.ExtendNDO(ctx, f.intake, c.Number, n.ID, lapse.Add(-time.Hour), "shorter"); cases.ErrorFields(err)["expires_at"] == "" {
			t.Errorf("shortening an order: %v", err)
		}
		ext, err := db.ExtendNDO(ctx, f.intake, c.Number, n.ID, lapse.Add(90*24*time.Hour), "extended by the court on 2026-11-25")
		if err != nil || ext.Extensions != 1 {
			t.Fatalf("extend: %+v %v", ext, err)
		}
		if items, _ := db.LapsingNDOs(ctx, T0, T0.Add(14*24*time.Hour), 10); len(items) != 0 {
			t.Errorf("an extended order is still in the reminder: %+v", items)
		}
		f.set(lapse.Add(91 * 24 * time.Hour))
		if n, err := db.CaseNotice(ctx, c); err != nil || n.State != cases.NoticeDue || !strings.Contains(n.Why, "lapsed") {
			t.Errorf("after the lapse: %+v %v", n, err)
		}
		if _, err := db.RecordNotice(ctx, f.intake, c.Number, cases.NoticeKindSent, "letter", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordNotice(ctx, f.intake, c.Number, cases.NoticeKindException, "", "twice"); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("a second notice record: %v", err)
		}
	})
}
