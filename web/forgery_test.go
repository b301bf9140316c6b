package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A forged request names a real agency but claims the forger's own domain
// as verified, so that GLOBAL-REQUESTER would pass it. Once the agency is in
// the directory, only the directory's domains count: the forged case needs
// review, on every path that decides (API intake, policy check, portal
// preview), however the agency's name is spelled.
func TestForgedDomainsDoNotPassRequesterCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		if _, err := db.CreateAgency(ctx, "admin@example.org", cases.Agency{Name: "Federal Bureau of Investigation", Country: "US", VerifiedDomains: []string{"fbi.gov"}}); err != nil {
			t.Fatal(err)
		}
		forged := func(name, email string) []byte {
			var req map[string]any
			if err := json.Unmarshal(fixtureJSON(t, "subpoena.json"), &req); err != nil {
				t.Fatal(err)
			}
			req["agency"] = map[string]any{"name": name, "country": "US", "verified_domains": []string{"fbi-portal.example.com"}}
			req["requester"].(map[string]any)["email"] = email
			b, _ := json.Marshal(req)
			return b
		}
		flagged := func(d *cases.Decision) bool {
			for _, fi := range d.Findings {
				if fi.Rule == "GLOBAL-REQUESTER" {
					return true
				}
			}
			return false
		}
		for _, name := range []string{"Federal Bureau of Investigation", "federal  BUREAU of investigation"} {
			var kase cases.Case
			if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", forged(name, "agent@fbi-portal.example.com"), &kase); w.Code != http.StatusCreated {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
			if kase.Decision == nil || !flagged(kase.Decision) || kase.Decision.Outcome != cases.OutcomeNeedsReview {
				t.Errorf("%q: forged domain passed: %+v", name, kase.Decision)
			}
			if got := kase.Request.Agency.VerifiedDomains; len(got) != 1 || got[0] != "fbi.gov" {
				t.Errorf("%q: stored domains %v, want the directory's [fbi.gov]", name, got)
			}
			var dec cases.Decision
			if w := f.do(cases.RoleIntake, "POST", "/api/v1/policy/check", forged(name, "agent@fbi-portal.example.com"), &dec); w.Code != http.StatusOK || !flagged(&dec) {
				t.Errorf("%q: policy check: %d, flagged %v", name, w.Code, flagged(&dec))
			}
		}
		// The genuine domain still passes, whatever the request claims.
		var kase cases.Case
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", forged("Federal Bureau of Investigation", "agent@fbi.gov"), &kase); w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		if flagged(kase.Decision) {
			t.Errorf("a requester on the directory's domain was flagged: %+v", kase.Decision.Findings)
		}
		// Every case joined the one directory entry instead of adding a
		// look-alike agency with the forger's domains.
		list, err := db.Agencies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			if strings.Contains(strings.Join(a.VerifiedDomains, ","), "fbi-portal") {
				t.Errorf("the directory gained the forged domains: %+v", a)
			}
		}
	})
}
