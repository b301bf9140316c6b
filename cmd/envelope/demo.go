package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope"
	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter"
	"envelope/policy"
)

// demoSeed is testdata/demo/seed.json: the agencies and people the demo
// cases are generated from.
type demoSeed struct {
	Agencies []struct {
		cases.Agency
		Requester cases.Requester     `json:"requester"`
		Authority string              `json:"authority"`
		Processes []cases.ProcessType `json:"processes"`
		Targets   []string            `json:"targets"`
	} `json:"agencies"`
	Descriptions []string `json:"descriptions"`
}

// demoUsers are the demo's people, one per role; they share one password.
var demoUsers = []struct {
	email string
	role  cases.Role
}{
	{"intake@demo.envelope.test", cases.RoleIntake},
	{"reviewer@demo.envelope.test", cases.RoleReviewer},
	{"supervisor@demo.envelope.test", cases.RoleSupervisor},
	{"auditor@demo.envelope.test", cases.RoleAuditor},
	{"admin@demo.envelope.test", cases.RoleAdmin},
}

// demoCases is how many cases the demo set has: enough to fill every list,
// status and report period, small enough to load in a few seconds.
const demoCases = 120

// loadDemo fills an empty database with the demo set and prints the login.
// A database that already holds cases is left alone. exp produces the
// demo's delivered package; nil leaves that request approved.
func loadDemo(ctx context.Context, db *store.DB, p *policy.Policy, exp *exporter.Exporter, out io.Writer) error {
	n, err := db.CountCases(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(out, "demo: the database already holds %d case(s); not loading demo data\n", n)
		return nil
	}
	b, err := envelope.Demo.ReadFile("testdata/demo/seed.json")
	if err != nil {
		return err
	}
	var seed demoSeed
	if err := json.Unmarshal(b, &seed); err != nil {
		return fmt.Errorf("testdata/demo/seed.json: %w", err)
	}
	password := "demo-" + randomWord()
	users := map[cases.Role]*cases.User{}
	for _, du := range demoUsers {
		u, _, err := db.CreateUser(ctx, cases.System, du.email, du.role)
		if err != nil {
			return err
		}
		if err := db.SetPassword(ctx, cases.System, du.email, password, false); err != nil {
			return err
		}
		users[du.role] = u
	}
	org, err := readOrgFile(envelope.Demo, "testdata/demo/org.json")
	if err != nil {
		return err
	}
	if err := db.SetOrg(ctx, cases.System, org); err != nil {
		return err
	}
	dir, err := envelope.Demo.ReadFile("testdata/demo/directory.json")
	if err != nil {
		return err
	}
	if _, err := db.ListDirectory(ctx, users[cases.RoleAdmin].Email, dir); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	now := time.Now().UTC().Truncate(time.Second)
	accounts, err := demoMetadata(ctx, db, &seed, now)
	if err != nil {
		return err
	}
	for i := 0; i < demoCases; i++ {
		req := demoRequest(&seed, rng, now, i)
		if err := db.Resolve(ctx, req); err != nil {
			return err
		}
		dec := p.Decide(req, req.ReceivedAt)
		c, err := db.CreateCase(ctx, users[cases.RoleIntake].Email, store.NewCase{Request: req, Decision: dec})
		if err != nil {
			return fmt.Errorf("demo case %d: %w", i, err)
		}
		if err := advanceDemo(ctx, db, users, c, now, rng); err != nil {
			return fmt.Errorf("demo case %s: %w", c.Number, err)
		}
	}
	forged, err := demoForgery(ctx, db, p, users[cases.RoleIntake], now)
	if err != nil {
		return err
	}
	if err := demoCasework(ctx, db, users, forged, now); err != nil {
		return fmt.Errorf("demo case work: %w", err)
	}
	hold, err := demoExpiringHold(ctx, db, p, users, &seed, now)
	if err != nil {
		return fmt.Errorf("demo preservation: %w", err)
	}
	delivered, err := demoDelivery(ctx, db, p, exp, users, password, now)
	if err != nil {
		return fmt.Errorf("demo delivery: %w", err)
	}
	pairs, err := demoCollect(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "demo: platform metadata for %d accounts; %d message pairs collected in the open pen register windows\n", accounts, pairs)
	fate := "produced and acknowledged"
	if exp == nil {
		fate = "approved (no packages directory to produce it in)"
	}
	fmt.Fprintf(out, "demo: %s was submitted on the agency portal, %s (officer %s, the same password); the hold of %s lapses in 6 days\n",
		delivered, fate, demoOfficer, hold)
	total, err := db.CountCases(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "demo: loaded %d cases. Sign in as %s (or reviewer@, supervisor@, auditor@, admin@ the same domain) with password %s\n",
		total, demoUsers[0].email, password)
	fmt.Fprintf(out, "demo: supervisor@ and admin@ must use a second factor (the default; an admin changes it under Settings, Sign-in): at their first sign-in they set up an authenticator app (the page shows the key to type into it) or a passkey, and get their recovery codes\n")
	return nil
}

// demoRequest makes the i-th demo request. The newest cases come first in
// the loop's second half, so the queue holds fresh, due and overdue work,
// while the first half fills the last two years for the reports.
func demoRequest(seed *demoSeed, rng *rand.Rand, now time.Time, i int) *cases.Request {
	ag := seed.Agencies[i%len(seed.Agencies)]
	proc := ag.Processes[(i/len(seed.Agencies))%len(ag.Processes)]
	age := time.Duration(rng.IntN(720)) * 24 * time.Hour
	if i >= demoCases/2 {
		age = time.Duration(rng.IntN(20*24)) * time.Hour
	}
	received := now.Add(-age)
	req := &cases.Request{
		ReceivedAt: received,
		Agency:     ag.Agency,
		Requester:  ag.Requester,
		Process:    cases.Process{Type: proc, IssuingAuthority: ag.Authority, Reference: fmt.Sprintf("%s-%d-%04d", ag.Country, received.Year(), 100+i)},
	}
	issued := received.Add(-24 * time.Hour)
	due := received.Add(14 * 24 * time.Hour)
	req.DueAt = &due
	switch proc {
	case cases.Emergency, cases.Preservation:
		req.Process.IssuingAuthority, req.Process.Reference = "", ""
	default:
		req.Process.IssuedAt = &issued
	}
	nTargets := 1 + rng.IntN(min(3, len(ag.Targets)))
	for _, v := range rng.Perm(len(ag.Targets))[:nTargets] {
		t := cases.Target{Kind: cases.TargetPhone, Value: ag.Targets[v]}
		if cases.ValidPhone(t.Value) != "" {
			t.Kind = cases.TargetUsername
			if len(t.Value) > 4 && t.Value[:4] == "acc_" || len(t.Value) > 5 && t.Value[:5] == "acct_" {
				t.Kind = cases.TargetAccountID
			}
		}
		req.Targets = append(req.Targets, t)
	}
	historical := &cases.Window{From: received.Add(-180 * 24 * time.Hour), To: received}
	switch proc {
	case cases.PenRegister:
		exp := issued.Add(60 * 24 * time.Hour)
		nd := issued.Add(365 * 24 * time.Hour)
		req.Process.EffectiveAt, req.Process.ExpiresAt, req.Process.NondisclosureUntil = &issued, &exp, &nd
		req.Categories = []cases.Category{cases.MessagePairs, cases.IPLogs}
		req.Window = &cases.Window{From: received, To: received.Add(90 * 24 * time.Hour)}
	case cases.Emergency:
		due = received.Add(2 * time.Hour)
		req.Emergency = &cases.Exigency{Description: seed.Descriptions[i%len(seed.Descriptions)], ImminentHarm: i%7 != 0}
		req.Categories = []cases.Category{cases.BasicSubscriberInfo, cases.IPLogs, cases.DeviceInfo}
		req.Window = &cases.Window{From: received.Add(-7 * 24 * time.Hour), To: received}
		if i%5 == 0 { // a forged-looking request from a webmail address
			req.Requester.Email = "urgent.police.request@gmail.com"
		}
	case cases.ForeignCourtOrder:
		req.Categories = []cases.Category{cases.BasicSubscriberInfo, cases.MessagePairs, cases.IPLogs}
		exp := issued.Add(45 * 24 * time.Hour)
		req.Process.ExpiresAt = &exp
		req.Window = &cases.Window{From: received, To: received.Add(30 * 24 * time.Hour)}
		if ag.Country == "GB" && i%2 == 0 {
			req.Process.Via = cases.ViaCloudAct
			req.Categories = append(req.Categories, cases.DeviceInfo, cases.Contacts)
		}
	case cases.TitleIII:
		req.Categories = []cases.Category{cases.MessageContent}
	case cases.EUProductionOrder, cases.EUPreservationOrder:
		demoEU(req, seed, i)
	default:
		all := []cases.Category{cases.BasicSubscriberInfo, cases.IPLogs, cases.DeviceInfo, cases.Profile,
			cases.GroupInfo, cases.LinkedAccounts, cases.Contacts, cases.MessageContent}
		req.Categories = all[:1+rng.IntN(len(all))]
		req.Window = historical
	}
	return req
}

// advanceDemo moves a demo case along its workflow as a legal team would
// have: old cases are decided and mostly produced or closed, fresh ones wait.
func advanceDemo(ctx context.Context, db *store.DB, users map[cases.Role]*cases.User, c *cases.Case, now time.Time, rng *rand.Rand) error {
	age := now.Sub(c.ReceivedAt)
	if age < 5*24*time.Hour && rng.IntN(3) > 0 {
		return nil // still in the queue
	}
	reviewer := users[cases.RoleReviewer]
	if c.Process.Type == cases.Emergency {
		reviewer = users[cases.RoleSupervisor]
	}
	if c.Decision.Outcome == cases.OutcomeReject || rng.IntN(12) == 0 {
		_, err := db.Review(ctx, reviewer, c.Number, cases.StatusRejected, "Declined per the policy decision.")
		return err
	}
	if cases.CheckInForce(c, now) != nil {
		_, err := db.Review(ctx, reviewer, c.Number, cases.StatusRejected, "The order expired before it could be approved.")
		return err
	}
	if cases.NeedsCallback(c) != "" {
		// Someone other than the approver calls the agency back on the
		// directory's number; a webmail requester is not who it claims.
		m, err := db.ResolveAgency(ctx, c.Agency)
		if err != nil {
			return err
		}
		forged := strings.HasSuffix(c.Requester.Email, "@gmail.com") || m.Phone == ""
		v := cases.Verification{Phone: m.Phone, Outcome: cases.VerifyConfirmed, Note: "The requesting officer confirmed the request on the agency's switchboard."}
		if forged {
			v.Outcome, v.Note = cases.VerifyFailed, "The agency has no record of this request or of the requester."
		}
		if m.Phone != "" {
			if _, err := db.RecordVerification(ctx, users[cases.RoleIntake], c.Number, v); err != nil {
				return err
			}
		}
		if forged {
			_, err := db.Review(ctx, reviewer, c.Number, cases.StatusRejected, "Forged: the agency did not send it.")
			return err
		}
	}
	note := ""
	if c.Decision.Outcome == cases.OutcomeNeedsReview {
		note = "Verified with the requesting agency by phone on its published number."
	}
	if _, err := db.Review(ctx, reviewer, c.Number, cases.StatusApproved, note); err != nil {
		return err
	}
	if age < 10*24*time.Hour {
		return nil
	}
	if c.Process.Type != cases.Preservation && rng.IntN(6) > 0 {
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.SetStatus(ctx, tx, reviewer.Email, c, cases.StatusProduced)
		}); err != nil {
			return err
		}
	}
	if age > 120*24*time.Hour && rng.IntN(2) == 0 {
		_, err := db.CloseCase(ctx, users[cases.RoleIntake], c.Number, "Production complete.")
		return err
	}
	return nil
}

// demoForgery logs an emergency request from a look-alike of a listed
// agency, left waiting: the dashboard and the case page show it as
// unverified, and it cannot be approved until someone calls the agency back.
// It returns the case's number.
func demoForgery(ctx context.Context, db *store.DB, p *policy.Policy, intake *cases.User, now time.Time) (string, error) {
	received := now.Add(-40 * time.Minute)
	due := received.Add(2 * time.Hour)
	req := &cases.Request{
		ReceivedAt: received,
		Agency:     cases.Agency{Name: "Metropolitan Police S\u0435rvice", Country: "GB", VerifiedDomains: []string{"met-police-uk.com"}},
		Requester:  cases.Requester{Name: "DS Alex Morgan", Email: "alex.morgan@met-police-uk.com", Phone: "+447700900123"},
		Process:    cases.Process{Type: cases.Emergency},
		Emergency:  &cases.Exigency{Description: "Kidnapping in progress; the victim's account is needed now. Call me on my mobile.", ImminentHarm: true},
		Targets:    []cases.Target{{Kind: cases.TargetPhone, Value: "+447911123456"}},
		Categories: []cases.Category{cases.BasicSubscriberInfo, cases.IPLogs, cases.DeviceInfo},
		Window:     &cases.Window{From: received.Add(-7 * 24 * time.Hour), To: received},
		DueAt:      &due,
	}
	if err := db.Resolve(ctx, req); err != nil {
		return "", err
	}
	c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: req, Decision: p.Decide(req, received)})
	if err != nil {
		return "", err
	}
	return c.Number, nil
}

func randomWord() string {
	const letters = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 10)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}
