package metadata

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

var ctx = context.Background()

// T0 is when the tests' cases are approved.
var T0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fixture is a database with a metadata store, two users and a settable
// clock (the store's db.Now), safe to read from a collecting goroutine.
type fixture struct {
	t        testing.TB
	db       *store.DB
	s        *Store
	clock    atomic.Int64
	intake   *cases.User
	reviewer *cases.User
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db}
	f.set(T0)
	db.Now = func() time.Time { return time.Unix(0, f.clock.Load()).UTC() }
	f.s = New(db)
	f.intake = f.user("ivy@example.org", cases.RoleIntake)
	f.reviewer = f.user("rex@example.org", cases.RoleReviewer)
	return f
}

func (f *fixture) set(t time.Time) { f.clock.Store(t.UnixNano()) }

func (f *fixture) user(email string, role cases.Role) *cases.User {
	f.t.Helper()
	u, _, err := f.db.CreateUser(ctx, "test", email, role)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// logCase logs a case by hand (the policy engine is not a dependency of
// this package): a request of process type p for targets, and a decision
// allowing allowed.
func (f *fixture) logCase(p cases.ProcessType, targets []string, allowed []cases.Allowed, preserveUntil *time.Time) *cases.Case {
	f.t.Helper()
	req := &cases.Request{
		ReceivedAt: T0.Add(-time.Hour),
		Agency:     cases.Agency{Name: "Federal Bureau of Investigation", Country: "US", VerifiedDomains: []string{"fbi.gov"}},
		Requester:  cases.Requester{Name: "Dana Reyes", Email: "dreyes@fbi.gov"},
		Process:    cases.Process{Type: p, IssuingAuthority: "N.D. Cal.", Reference: "3:26-mj-" + strconv.Itoa(len(targets))},
	}
	for _, t := range targets {
		kind := cases.TargetPhone
		if t[0] != '+' {
			kind = cases.TargetAccountID
		}
		req.Targets = append(req.Targets, cases.Target{Kind: kind, Value: t})
	}
	for _, a := range allowed {
		req.Categories = append(req.Categories, a.Category)
	}
	dec := &cases.Decision{Outcome: cases.OutcomeApprove, PolicyVersion: "sha256:test", DecidedAt: T0.Add(-time.Hour),
		Allowed: allowed, Denied: []cases.Denied{}, Findings: []cases.Finding{}, UserNotice: cases.NoticeDelayed, PreserveUntil: preserveUntil}
	c, err := f.db.CreateCase(ctx, f.intake.Email, store.NewCase{Request: req, Decision: dec})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) approve(c *cases.Case) *cases.Case {
	f.t.Helper()
	c, err := f.db.Review(ctx, f.reviewer, c.Number, cases.StatusApproved, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// penRegister logs and approves a case allowing message pairs (and IP
// logs) prospectively in [from, to).
func (f *fixture) penRegister(targets []string, from, to time.Time) *cases.Case {
	f.t.Helper()
	w := &cases.Window{From: from, To: to}
	return f.approve(f.logCase(cases.PenRegister, targets, []cases.Allowed{
		{Category: cases.MessagePairs, Rule: "US-PEN-REGISTER", Window: w, Prospective: true},
		{Category: cases.IPLogs, Rule: "US-PEN-REGISTER", Window: w, Prospective: true},
	}, nil))
}

func (f *fixture) close(c *cases.Case) {
	f.t.Helper()
	if _, err := f.db.CloseCase(ctx, f.intake, c.Number, "order withdrawn"); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) pairs(c *cases.Case) []*Pair {
	f.t.Helper()
	var out []*Pair
	if err := f.s.Pairs(ctx, c.ID, func(p *Pair) error { out = append(out, p); return nil }); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) actions(c *cases.Case) map[string]int {
	f.t.Helper()
	evs, err := f.db.Events(ctx, "case", strconv.FormatInt(c.ID, 10))
	if err != nil {
		f.t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range evs {
		n[e.Action]++
	}
	return n
}

func (f *fixture) verifyAudit() {
	f.t.Helper()
	if _, err := f.db.VerifyAudit(ctx); err != nil {
		f.t.Fatal(err)
	}
}
