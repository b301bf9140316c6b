package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
)

// demoForgedTarget is the account the forged emergency names: it has
// records, so approving it without a callback would hand them over.
const demoForgedTarget = "+447911123456"

// demoMetadata imports platform metadata for every account the demo
// requests name: a subscriber record, a device, a profile, contacts and
// IP sessions over the last 200 days. Without it the first production
// anyone tries in the demo is empty. It runs before the cases are logged,
// so a preservation approved in the demo freezes real records.
func demoMetadata(ctx context.Context, db *store.DB, seed *demoSeed, now time.Time) (int, error) {
	rng := rand.New(rand.NewPCG(2026, 19))
	seen := map[string]bool{}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	write := func(v map[string]any) error { return enc.Encode(v) }
	accounts := []string{demoForgedTarget}
	for _, ag := range seed.Agencies {
		accounts = append(accounts, ag.Targets...)
	}
	names := []string{"J. Doe", "A. Moreau", "K. Tanaka", "M. Silva", "R. Okafor", "L. Jensen", "S. Patel", "T. Novak"}
	for i, acct := range accounts {
		// A target the importer would refuse (a seed number no country
		// issues) gets no records: the demo shows "no data found" on it.
		if seen[acct] || cases.ValidPhone(acct) != "" {
			continue
		}
		seen[acct] = true
		ip := func() string { return fmt.Sprintf("203.0.113.%d", 1+rng.IntN(250)) }
		created := now.AddDate(-2, 0, -rng.IntN(300))
		last := ip()
		for _, rec := range []map[string]any{
			{"kind": "subscriber", "account": acct, "name": names[i%len(names)], "email": fmt.Sprintf("user%d@example.net", i),
				"created_at": created, "last_seen_at": now.Add(-time.Duration(rng.IntN(48)) * time.Hour), "registration_ip": ip(), "last_ip": last},
			{"kind": "device", "account": acct, "device_id": fmt.Sprintf("dev-%d", i), "os": []string{"iOS", "Android"}[i%2],
				"os_version": []string{"18.1", "15"}[i%2], "app_version": "2.26.4", "model": []string{"iPhone15,2", "Pixel 8"}[i%2]},
			{"kind": "profile", "account": acct, "about": "", "language": "en", "time_zone": "Europe/London"},
			{"kind": "contact", "account": acct, "contact": accounts[(i+1)%len(accounts)]},
		} {
			if err := write(rec); err != nil {
				return 0, err
			}
		}
		for d := 0; d < 200; d += 3 + rng.IntN(6) {
			at := now.Add(-time.Duration(d)*24*time.Hour - time.Duration(rng.IntN(86400))*time.Second)
			if err := write(map[string]any{"kind": "ip_session", "account": acct, "at": at, "ip": last, "port": []int{443, 5222}[rng.IntN(2)]}); err != nil {
				return 0, err
			}
		}
	}
	var firstErr string
	sum, err := metadata.New(db).Import(ctx, strings.NewReader(b.String()), metadata.ImportOptions{OnError: func(e *metadata.LineError) { firstErr = cmp.Or(firstErr, e.Error()) }})
	if err != nil {
		return 0, err
	}
	if sum.Rejected > 0 {
		return 0, fmt.Errorf("demo metadata: %d of %d records rejected, first: %s", sum.Rejected, sum.Read, firstErr)
	}
	return len(seen), nil
}
