package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/exporter"
	"envelope/policy"
)

// The rest of the demo's capabilities, each made the way the portals make
// it: message pairs collected in the open pen register windows, a
// preservation hold about to lapse, and a request an agency officer
// submitted on the agency portal, produced, downloaded and acknowledged.

// demoOfficer is the agency portal account of the demo: the FBI requester
// of testdata/demo/seed.json, signing in with the demo password (and
// enrolling an authenticator app on the first sign-in).
const demoOfficer = "dreyes@fbi.gov"

// demoCollect feeds message events for every collection window open now,
// as the platform's tap would: each target writes to and hears from its
// contacts. The windows opened when the demo approved their orders, a
// moment ago, so the events are stamped between then and now; collection
// keeps only those inside a window. It returns the pairs kept.
func demoCollect(ctx context.Context, db *store.DB) (int64, error) {
	md := metadata.New(db)
	approved, err := db.ListSummaries(ctx, cases.CaseFilter{Status: cases.StatusApproved, Limit: 200}, "", false, "")
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(2026, 7))
	now := db.Now()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, s := range approved.Cases {
		ws, err := md.Windows(ctx, s.ID)
		if err != nil {
			return 0, err
		}
		for _, w := range ws {
			if !w.Active(now) {
				continue
			}
			span := now.Sub(w.OpensAt)
			for i := 0; i < 12; i++ {
				at := w.OpensAt.Add(time.Duration(rng.Int64N(int64(span) + 1)))
				peer := fmt.Sprintf("+1415555%04d", 200+rng.IntN(40))
				from, to := w.Target, peer
				if i%3 == 0 {
					from, to = peer, w.Target
				}
				ev := map[string]string{"from": from, "to": to, "at": at.UTC().Format(time.RFC3339Nano), "kind": []string{"text", "media", "call"}[i%3]}
				if err := enc.Encode(ev); err != nil {
					return 0, err
				}
			}
		}
	}
	res, err := md.Collect(ctx, strings.NewReader(b.String()), metadata.CollectOptions{})
	if err != nil {
		return 0, err
	}
	if res.Rejected > 0 {
		return 0, fmt.Errorf("demo collection: %d of %d events rejected", res.Rejected, res.Received)
	}
	return res.Kept, nil
}

// demoExpiringHold logs and approves a preservation received so long ago
// that its hold lapses in six days: the dashboard lists it under holds
// to extend on a renewed request.
func demoExpiringHold(ctx context.Context, db *store.DB, p *policy.Policy, users map[cases.Role]*cases.User, seed *demoSeed, now time.Time) (string, error) {
	ag := seed.Agencies[0] // the FBI: preservations, and targets with records
	req := &cases.Request{
		Agency:     ag.Agency,
		Requester:  ag.Requester,
		Process:    cases.Process{Type: cases.Preservation},
		Targets:    []cases.Target{{Kind: cases.TargetPhone, Value: ag.Targets[0]}},
		Categories: []cases.Category{cases.BasicSubscriberInfo, cases.IPLogs},
	}
	// The policy keeps a preservation a fixed number of days from receipt:
	// receive it early enough that the hold ends six days from now.
	req.ReceivedAt = now
	dec := p.Decide(req, now)
	if dec.PreserveUntil == nil {
		return "", fmt.Errorf("demo preservation: the policy preserves nothing (%s)", dec.Outcome)
	}
	req.ReceivedAt = now.Add(6*24*time.Hour - dec.PreserveUntil.Sub(now)).Truncate(time.Second)
	due := req.ReceivedAt.Add(24 * time.Hour)
	req.DueAt = &due
	window := &cases.Window{From: req.ReceivedAt.Add(-180 * 24 * time.Hour), To: req.ReceivedAt}
	req.Window = window
	if err := db.Resolve(ctx, req); err != nil {
		return "", err
	}
	c, err := db.CreateCase(ctx, users[cases.RoleIntake].Email, store.NewCase{Request: req, Decision: p.Decide(req, req.ReceivedAt)})
	if err != nil {
		return "", err
	}
	_, err = db.Review(ctx, users[cases.RoleReviewer], c.Number, cases.StatusApproved, "Preserve pending the warrant the agency is seeking.")
	return c.Number, err
}

// demoDelivery registers the demo officer on the agency portal, submits a
// subpoena as the portal does, has it approved, notified and produced, and
// records the officer's download and acknowledgement of the package. exp
// nil (no keys or packages directory) leaves the request approved.
func demoDelivery(ctx context.Context, db *store.DB, p *policy.Policy, exp *exporter.Exporter, users map[cases.Role]*cases.User, password string, now time.Time) (string, error) {
	list, err := db.Agencies(ctx)
	if err != nil {
		return "", err
	}
	var ag *store.AgencyEntry
	for _, a := range list {
		if a.Name == "Federal Bureau of Investigation" {
			ag = a
		}
	}
	if ag == nil {
		return "", fmt.Errorf("demo delivery: the FBI is not in the demo directory")
	}
	o, token, err := db.RegisterOfficer(ctx, ag.ID, demoOfficer, "Dana Reyes", "+12025550100", password)
	if err != nil {
		return "", err
	}
	if o, err = db.VerifyOfficer(ctx, token); err != nil {
		return "", err
	}
	received := now.Add(-9 * 24 * time.Hour)
	issued, due := received.Add(-24*time.Hour), received.Add(14*24*time.Hour)
	req := &cases.Request{
		ReceivedAt: received,
		DueAt:      &due,
		Agency:     ag.Agency,
		Requester:  cases.Requester{Name: o.Name, Email: o.Email, Phone: o.Phone},
		Process: cases.Process{Type: cases.Subpoena, IssuingAuthority: "Grand Jury, U.S. District Court for the District of Columbia",
			Reference: fmt.Sprintf("GJ-%d-0412", received.Year()), IssuedAt: &issued},
		Targets:    []cases.Target{{Kind: cases.TargetPhone, Value: "+14155550123"}},
		Categories: []cases.Category{cases.BasicSubscriberInfo},
		Window:     &cases.Window{From: received.Add(-180 * 24 * time.Hour), To: received},
	}
	if err := db.Resolve(ctx, req); err != nil {
		return "", err
	}
	pdf := []byte("%PDF-1.4\n% demo: grand jury subpoena " + req.Process.Reference + "\n%%EOF\n")
	c, err := db.SubmitAgencyCase(ctx, o, store.NewCase{Request: req, Decision: p.Decide(req, received)}, "subpoena.pdf", pdf)
	if err != nil {
		return "", fmt.Errorf("demo submission: %w", err)
	}
	if _, err := db.Review(ctx, users[cases.RoleReviewer], c.Number, cases.StatusApproved, "Subscriber record only, as the subpoena asks."); err != nil {
		return "", err
	}
	if _, err := db.RecordNotice(ctx, users[cases.RoleIntake], c.Number, cases.NoticeKindSent, "e-mail to the account's address", ""); err != nil {
		return "", err
	}
	if exp == nil {
		return c.Number, nil
	}
	pkg, err := exp.Export(ctx, users[cases.RoleIntake].Email, c.Number)
	if err != nil {
		return "", fmt.Errorf("demo production: %w", err)
	}
	if err := db.RecordDownload(ctx, o, c.ID, pkg.ID, pkg.SHA256); err != nil {
		return "", err
	}
	return c.Number, db.AcknowledgeReceipt(ctx, o, c.ID, pkg.ID)
}
