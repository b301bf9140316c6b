package main

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/exporter"
)

// serve --demo starts with every capability of the portals on show: open
// collection windows with pairs collected (serve registers the metadata
// hooks before loading the demo set, so the approvals open them), a
// package produced for an agency portal request and acknowledged by its
// officer, a preservation hold about to lapse, an unverified emergency and
// EU orders.
func TestDemoShowsEveryCapability(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "e.db")
	srv := serveInProcess(t, "--demo", "--db", db)
	srv.stop(t)
	t.Logf("serve --demo said:\n%s", srv.stdout)
	s, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	md := metadata.New(s)
	now := time.Now().UTC()

	approved, err := s.ListSummaries(ctx, cases.CaseFilter{Status: cases.StatusApproved, Limit: 200}, "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	var open, withPairs int
	for _, c := range approved.Cases {
		ws, err := md.Windows(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		active := false
		for _, w := range ws {
			active = active || w.Active(now)
		}
		if !active {
			continue
		}
		open++
		if n, err := md.PairCount(ctx, c.ID); err != nil {
			t.Fatal(err)
		} else if n > 0 {
			withPairs++
		}
	}
	if open == 0 || withPairs != open {
		t.Errorf("demo collection: %d case(s) with open windows, %d with pairs collected", open, withPairs)
	}

	m := regexp.MustCompile(`demo: (LR-\d{4}-\d{6}) was submitted on the agency portal, produced and acknowledged`).FindStringSubmatch(srv.stdout)
	if m == nil {
		t.Fatalf("the demo names no delivered request:\n%s", srv.stdout)
	}
	delivered, err := s.Case(ctx, m[1])
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := exporter.ListPackages(ctx, s, delivered.ID)
	if err != nil {
		t.Fatal(err)
	}
	del, err := s.Deliveries(ctx, delivered.ID)
	if err != nil {
		t.Fatal(err)
	}
	if delivered.Status != cases.StatusProduced || len(pkgs) != 1 || pkgs[0].Records == 0 {
		t.Fatalf("the delivered request %s is %s with packages %+v", delivered.Number, delivered.Status, pkgs)
	}
	if d := del[pkgs[0].ID]; d == nil || d.Downloads != 1 || d.AcknowledgedAt == nil {
		t.Errorf("the delivery of %s: %+v", pkgs[0].FileName, d)
	}
	officers, err := s.Officers(ctx, 0)
	if err != nil || len(officers) != 1 || officers[0].Email != demoOfficer || officers[0].VerifiedAt == nil {
		t.Fatalf("the demo's officers: %v %v", officers, err)
	}
	if mine, err := s.OfficerCases(ctx, officers[0]); err != nil || len(mine) != 1 || mine[0].Number != delivered.Number {
		t.Errorf("the demo officer's requests: %v %v", mine, err)
	}

	holds, _, err := md.ExpiringHolds(ctx, now, now.Add(14*24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(holds) == 0 || holds[0].At.Sub(now) < 5*24*time.Hour || holds[0].At.Sub(now) > 7*24*time.Hour || holds[0].Count == 0 {
		t.Errorf("expiring preservation holds: %+v, want one with records lapsing in about 6 days", holds)
	}

	waiting, err := s.ListUnverified(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	emergency := false
	for _, u := range waiting {
		emergency = emergency || (u.Emergency && u.Status == cases.StatusReceived)
	}
	if !emergency {
		t.Errorf("no unverified emergency waiting among %d", len(waiting))
	}

	eu := map[cases.ProcessType]int{}
	err = s.EachCase(ctx, nil, nil, func(c *cases.Case) error {
		if c.Process.Type == cases.EUProductionOrder || c.Process.Type == cases.EUPreservationOrder {
			eu[c.Process.Type]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if eu[cases.EUProductionOrder] == 0 || eu[cases.EUPreservationOrder] == 0 {
		t.Errorf("EU orders in the demo: %v", eu)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}
