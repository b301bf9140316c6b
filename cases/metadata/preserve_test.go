package metadata

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// An approved preservation request freezes the requested categories of
// its targets; the copy outlives changes to the live records, may be
// extended once by 90 days, and is purged (audited) when it expires.
func TestPreservation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		target, other := "+14155550123", "+447911123456"
		live := strings.Join([]string{
			`{"kind":"subscriber","account":"` + target + `","name":"Dana Reyes"}`,
			`{"kind":"ip_session","account":"` + target + `","at":"2026-11-01T00:00:00Z","ip":"10.0.0.1","port":1}`,
			`{"kind":"ip_session","account":"` + target + `","at":"2026-11-02T00:00:00Z","ip":"10.0.0.2","port":2}`,
			`{"kind":"device","account":"` + target + `","device_id":"dev_1"}`, // not requested
			`{"kind":"subscriber","account":"` + other + `","name":"Someone Else"}`,
			`{"kind":"ip_session","account":"` + other + `","at":"2026-11-01T00:00:00Z","ip":"10.0.0.9","port":9}`,
		}, "\n")
		if _, err := f.s.Import(ctx, strings.NewReader(live), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		until := T0.Add(90 * 24 * time.Hour)
		c := f.approve(f.logCase(cases.Preservation, []string{target}, []cases.Allowed{
			{Category: cases.BasicSubscriberInfo, Rule: "PRESERVATION"},
			{Category: cases.IPLogs, Rule: "PRESERVATION"},
		}, &until))
		p, err := f.s.Preservation(ctx, c.ID)
		if err != nil || p.Records != 3 || !p.PreserveUntil.Equal(until) || p.PurgedAt != nil {
			t.Fatalf("hold: %+v %v", p, err)
		}
		// The live data changes; the frozen copy does not.
		if _, err := f.s.Import(ctx, strings.NewReader(`{"kind":"subscriber","account":"`+target+`","name":"Changed Name"}`), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		frozen, err := f.s.Preserved(ctx, c.ID)
		if err != nil || len(frozen) != 3 {
			t.Fatalf("frozen: %v %v", frozen, err)
		}
		b, _ := json.Marshal(frozen)
		if !strings.Contains(string(b), "Dana Reyes") || strings.Contains(string(b), "Changed") ||
			strings.Contains(string(b), other) || strings.Contains(string(b), "dev_1") {
			t.Fatalf("frozen copy: %s", b)
		}
		if s, ok := frozen[0].(*Subscriber); !ok || s.Account != target {
			t.Fatalf("frozen records are not typed: %T", frozen[0])
		}

		// One extension of 90 days, and no second.
		auditor := f.user("al@example.org", cases.RoleAuditor)
		if _, err := f.s.Extend(ctx, auditor, c.ID); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Fatalf("auditor extending: %v", err)
		}
		f.set(T0.Add(80 * 24 * time.Hour))
		p, err = f.s.Extend(ctx, f.intake, c.ID)
		if err != nil || !p.PreserveUntil.Equal(until.Add(90*24*time.Hour)) || p.ExtendedBy != f.intake.Email {
			t.Fatalf("extend: %+v %v", p, err)
		}
		if _, err := f.s.Extend(ctx, f.intake, c.ID); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Fatalf("second extension: %v", err)
		}
		// The purge leaves a hold alone until it has expired.
		f.set(until.Add(24 * time.Hour))
		if n, err := f.s.Purge(ctx, db.Now()); err != nil || n != 0 {
			t.Fatalf("purge of an extended hold: %d %v", n, err)
		}
		expired := p.PreserveUntil
		if n, err := f.s.Purge(ctx, expired); err != nil || n != 1 {
			t.Fatalf("purge at expiry: %d %v", n, err)
		}
		if n, err := f.s.Purge(ctx, expired.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("second purge: %d %v", n, err)
		}
		if recs, err := f.s.Preserved(ctx, c.ID); err != nil || len(recs) != 0 {
			t.Fatalf("after purge: %v %v", recs, err)
		}
		var left int
		db.Reader().Get(&left, "SELECT COUNT(*) FROM preserved_records")
		if p, _ = f.s.Preservation(ctx, c.ID); p.PurgedAt == nil || left != 0 {
			t.Fatalf("after purge: %+v, %d records left", p, left)
		}
		// The live records are not the hold's to purge.
		if recs, _ := f.s.Records(ctx, Query{Category: cases.IPLogs, Accounts: []string{target}}); len(recs) != 2 {
			t.Fatalf("purge touched live records: %v", recs)
		}
		if _, err := f.s.Extend(ctx, f.intake, c.ID); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Fatalf("extending a purged hold: %v", err)
		}
		acts := f.actions(c)
		if acts["preservation.freeze"] != 1 || acts["preservation.extend"] != 1 || acts["preservation.purge"] != 1 {
			t.Fatalf("audit: %v", acts)
		}
		f.verifyAudit()
	})
}

// A hold that expired without extension is purged; one that is not a
// preservation case has no hold.
func TestPurgeUnextended(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var ids []int64
		for i, days := range []int{10, 20, 30} {
			until := T0.Add(time.Duration(days) * 24 * time.Hour)
			c := f.approve(f.logCase(cases.Preservation, []string{fmt.Sprintf("acc_%d", i)},
				[]cases.Allowed{{Category: cases.Contacts, Rule: "PRESERVATION"}}, &until))
			ids = append(ids, c.ID)
		}
		if n, err := f.s.Purge(ctx, T0.Add(25*24*time.Hour)); err != nil || n != 2 {
			t.Fatalf("purged %d, want 2 (%v)", n, err)
		}
		if p, _ := f.s.Preservation(ctx, ids[2]); p.PurgedAt != nil {
			t.Fatal("a running hold was purged")
		}
		pen := f.penRegister([]string{"+14155550123"}, day(22), day(30))
		if _, err := f.s.Preservation(ctx, pen.ID); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Fatalf("pen register hold: %v", err)
		}
	})
}
