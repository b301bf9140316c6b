package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

func fbi() store.AgencyEntry {
	return store.AgencyEntry{Agency: cases.Agency{Name: "  Federal   Bureau of Investigation ", Country: "us",
		VerifiedDomains: []string{"FBI.gov", "ic.fbi.gov.", "fbi.gov", ""}}, Phone: "+12023243000", Aliases: []string{"FBI", " FBI "}}
}

func TestAgencies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// A logged case adds nothing to the directory.
		if _, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)}); err != nil {
			t.Fatal(err)
		}
		if list, err := db.Agencies(ctx); err != nil || len(list) != 0 {
			t.Fatalf("a logged case listed its agency: %+v %v", list, err)
		}
		// Listing the agency takes in the row the case named it by.
		a, err := db.CreateAgency(ctx, "ada@example.org", fbi())
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Federal Bureau of Investigation" || a.Country != "US" || !slices.Equal(a.VerifiedDomains, []string{"fbi.gov", "ic.fbi.gov"}) ||
			!slices.Equal(a.Aliases, []string{"FBI"}) || a.VerifiedBy != "ada@example.org" || a.VerifiedAt == nil {
			t.Fatalf("cleaned agency: %+v", a)
		}
		list, err := db.Agencies(ctx)
		if err != nil || len(list) != 1 || list[0].ID != a.ID || list[0].Phone != "+12023243000" {
			t.Fatalf("directory: %+v %v", list, err)
		}
		// The same name, folded, or an alias taken: a conflict naming the field.
		for _, dup := range []store.AgencyEntry{
			{Agency: cases.Agency{Name: "federal bureau of investigation.", Country: "US", VerifiedDomains: []string{"x.gov"}}, Phone: "+12025550100"},
			{Agency: cases.Agency{Name: "Other", Country: "US", VerifiedDomains: []string{"x.gov"}}, Phone: "+12025550100", Aliases: []string{"F.B.I"}},
		} {
			_, err = db.CreateAgency(ctx, "ada@example.org", dup)
			if cases.ErrorCode(err) != cases.ECONFLICT || len(cases.ErrorFields(err)) != 1 {
				t.Errorf("duplicate %+v: %v", dup, err)
			}
		}
		ok := store.AgencyEntry{Agency: cases.Agency{Name: "X", Country: "US", VerifiedDomains: []string{"x.gov"}}, Phone: "+12025550100"}
		for field, bad := range map[string]func(e *store.AgencyEntry){
			"name":             func(e *store.AgencyEntry) { e.Name = "" },
			"country":          func(e *store.AgencyEntry) { e.Country = "UK" },
			"verified_domains": func(e *store.AgencyEntry) { e.VerifiedDomains = []string{"officer@fbi.gov"} },
			"phone":            func(e *store.AgencyEntry) { e.Phone = "+1202" },
			"aliases":          func(e *store.AgencyEntry) { e.Aliases = []string{"\x00"} },
		} {
			e := ok
			bad(&e)
			if _, err := db.CreateAgency(ctx, "ada@example.org", e); cases.ErrorCode(err) != cases.EINVALID || cases.ErrorFields(err)[field] == "" {
				t.Errorf("%s: %v", field, err)
			}
		}
		for _, d := range []string{"localhost", "fbi..gov"} {
			e := ok
			e.VerifiedDomains = []string{d}
			if _, err := db.CreateAgency(ctx, "ada@example.org", e); cases.ErrorFields(err)["verified_domains"] == "" {
				t.Errorf("domain %q: %v", d, err)
			}
		}

		up := fbi()
		up.Name, up.Aliases = "FBI", nil
		got, err := db.UpdateAgency(ctx, "bo@example.org", a.ID, up)
		if err != nil || got.Name != "FBI" || got.VerifiedBy != "bo@example.org" {
			t.Fatalf("update: %+v %v", got, err)
		}
		if _, err := db.UpdateAgency(ctx, "ada@example.org", 9999, up); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("missing: %v", err)
		}

		// Both changes are audited, the update with before and after.
		evs, err := db.Events(ctx, "agency", strconv.FormatInt(a.ID, 10))
		if err != nil || len(evs) != 2 || evs[0].Action != "agency.create" || evs[1].Action != "agency.update" || evs[0].Actor != "ada@example.org" {
			t.Fatalf("audit: %+v %v", evs, err)
		}
		var before store.AgencyEntry
		json.Unmarshal(evs[1].Before, &before)
		if before.Name != "Federal Bureau of Investigation" || before.Phone != "+12023243000" {
			t.Errorf("audited before: %s", evs[1].Before)
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// The store resolves a request's agency against the directory only; what
// the request claims never enters the match, and resolving changes nothing.
func TestResolveAgency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.CreateAgency(ctx, "ada@example.org", fbi()); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, country, kind string
		}{
			{"Federal Bureau of Investigation.", "US", cases.AgencyKnown},
			{"fbi", "US", cases.AgencyKnown},
			{"Federal Bureau of Inv\u0435stigation", "US", cases.AgencyLookalike},
			{"Federal Bureau of Investigation", "GB", cases.AgencyLookalike},
			{"Springfield PD", "US", cases.AgencyUnknown},
		} {
			req := request(t, "subpoena.json")
			req.Agency = cases.Agency{Name: tc.name, Country: tc.country, VerifiedDomains: []string{"evil.example"}}
			if err := db.Resolve(ctx, req); err != nil {
				t.Fatal(err)
			}
			m := req.Directory
			if m.Kind != tc.kind || slices.Contains(m.Domains, "evil.example") {
				t.Errorf("%q %s: %+v", tc.name, tc.country, m)
			}
			if tc.kind == cases.AgencyKnown && (!slices.Equal(m.Domains, []string{"fbi.gov", "ic.fbi.gov"}) || m.Phone != "+12023243000") {
				t.Errorf("%q: known without the directory's facts: %+v", tc.name, m)
			}
			if _, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: req, Decision: decision(cases.OutcomeNeedsReview)}); err != nil {
				t.Fatal(err)
			}
		}
		list, _ := db.Agencies(ctx)
		if len(list) != 1 || !slices.Equal(list[0].VerifiedDomains, []string{"fbi.gov", "ic.fbi.gov"}) {
			t.Errorf("cases changed the directory: %+v", list)
		}
		// The kept index follows every change, even within one instant.
		frozen := time.Now()
		db.Now = func() time.Time { return frozen }
		for _, name := range []string{"FBI Headquarters", "FBI Field Office"} {
			up := fbi()
			up.Name, up.Aliases = name, nil
			if _, err := db.UpdateAgency(ctx, "ada@example.org", list[0].ID, up); err != nil {
				t.Fatal(err)
			}
			if m, _ := db.ResolveAgency(ctx, cases.Agency{Name: name, Country: "US"}); m.Kind != cases.AgencyKnown {
				t.Errorf("after renaming to %s: %+v", name, m)
			}
		}
	})
}

// Four eyes: the approver may not be the logger, nor an account the logger
// created, changed or reset; a verification needs the directory's number;
// an order that expired since it was logged cannot be approved.
func TestApprovalChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.CreateAgency(ctx, "ada@example.org", fbi()); err != nil {
			t.Fatal(err)
		}
		logger := user(t, db, "ivy@example.org", cases.RoleSupervisor)
		made, _, err := db.CreateUser(ctx, logger.Email, "sock@example.org", cases.RoleSupervisor)
		if err != nil {
			t.Fatal(err)
		}
		promoted := user(t, db, "pat@example.org", cases.RoleIntake)
		if _, err := db.UpdateUser(ctx, logger.Email, promoted.ID, cases.RoleSupervisor, false); err != nil {
			t.Fatal(err)
		}
		promoted.Role = cases.RoleSupervisor
		reset := user(t, db, "rex@example.org", cases.RoleSupervisor)
		if _, _, err := db.ResetPassword(ctx, logger.Email, reset.ID); err != nil {
			t.Fatal(err)
		}
		other := user(t, db, "sam@example.org", cases.RoleSupervisor)
		caller := user(t, db, "cal@example.org", cases.RoleIntake)

		req := request(t, "subpoena.json")
		req.Agency = cases.Agency{Name: "FBI", Country: "US"}
		exp := time.Now().Add(time.Hour)
		req.Process.ExpiresAt = &exp
		c, err := db.CreateCase(ctx, logger.Email, store.NewCase{Request: req, Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []*cases.User{logger, made, promoted, reset} {
			if _, err := db.Review(ctx, u, c.Number, cases.StatusApproved, "ok"); cases.ErrorCode(err) != cases.EFORBIDDEN {
				t.Errorf("%s approving a case %s logged: %v", u.Email, logger.Email, err)
			}
		}
		// The directory's number only; nothing is written otherwise.
		_, err = db.RecordVerification(ctx, caller, c.Number, cases.Verification{Phone: req.Requester.Phone, Outcome: cases.VerifyConfirmed})
		if cases.ErrorFields(err)["phone"] == "" {
			t.Errorf("the request's number: %v", err)
		}
		if _, err := db.RecordVerification(ctx, caller, "LR-2026-999999", cases.Verification{Phone: "+12023243000", Outcome: cases.VerifyConfirmed}); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("unknown case: %v", err)
		}
		v, err := db.RecordVerification(ctx, caller, c.Number, cases.Verification{Phone: "+12023243000", Outcome: cases.VerifyConfirmed, Note: "confirmed"})
		if err != nil || v.Method != cases.VerifyCallback || v.RecordedBy != caller.Email {
			t.Fatalf("verification: %+v %v", v, err)
		}
		got, _ := db.Case(ctx, c.Number)
		if len(got.Verifications) != 1 || got.AgencyMatch == nil || got.AgencyMatch.Kind != cases.AgencyKnown {
			t.Errorf("case: %+v %+v", got.Verifications, got.AgencyMatch)
		}
		// Expired between logging and approval: 409 saying so.
		now := exp.Add(time.Minute)
		db.Now = func() time.Time { return now }
		if _, err := db.Review(ctx, other, c.Number, cases.StatusApproved, "ok"); cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), "expired") {
			t.Errorf("approving an expired order: %v", err)
		}
		db.Now = time.Now
		if _, err := db.Review(ctx, other, c.Number, cases.StatusApproved, "ok"); err != nil {
			t.Errorf("a second person approving: %v", err)
		}
	})
}

// Control is transitive, and it binds the callback too: admin1 logs a case
// and creates admin2, which creates sup4; sup4 may not decide it. admin2
// creates rec, which records the callback on a case someone else logged;
// an approver admin2 made, or one that made admin2, cannot count rec's
// callback; an independent supervisor can.
func TestControlIsTransitiveAndBindsTheCallback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.CreateAgency(ctx, "ada@example.org", fbi()); err != nil {
			t.Fatal(err)
		}
		admin1 := user(t, db, "admin1@example.org", cases.RoleAdmin)
		admin2, _, err := db.CreateUser(ctx, admin1.Email, "admin2@example.org", cases.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		sup4, _, err := db.CreateUser(ctx, admin2.Email, "sup4@example.org", cases.RoleSupervisor)
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := db.CreateUser(ctx, admin2.Email, "rec@example.org", cases.RoleIntake)
		if err != nil {
			t.Fatal(err)
		}
		// admin3 made admin2 an admin: rec is admin3's through admin2.
		admin3 := user(t, db, "admin3@example.org", cases.RoleAdmin)
		if _, err := db.UpdateUser(ctx, admin3.Email, admin2.ID, cases.RoleSupervisor, false); err != nil {
			t.Fatal(err)
		}
		admin2.Role = cases.RoleSupervisor
		if _, err := db.UpdateUser(ctx, admin1.Email, admin3.ID, cases.RoleSupervisor, false); err != nil {
			t.Fatal(err)
		}
		admin3.Role = cases.RoleSupervisor
		// sup9 was made by admin1 too, but made nothing: a sibling of rec, not its master.
		sup9, _, err := db.CreateUser(ctx, admin1.Email, "sup9@example.org", cases.RoleSupervisor)
		if err != nil {
			t.Fatal(err)
		}
		mk := func(logger string) *cases.Case {
			req := request(t, "emergency.json")
			req.Agency = cases.Agency{Name: "FBI", Country: "US"}
			c, err := db.CreateCase(ctx, logger, store.NewCase{Request: req, Decision: decision(cases.OutcomeNeedsReview)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		// Two hops from the logger.
		c := mk(admin1.Email)
		if _, err := db.RecordVerification(ctx, user(t, db, "cal@example.org", cases.RoleIntake), c.Number, cases.Verification{Phone: "+12023243000", Outcome: cases.VerifyConfirmed}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Review(ctx, sup4, c.Number, cases.StatusApproved, "ok"); cases.ErrorCode(err) != cases.EFORBIDDEN || !strings.Contains(err.Error(), "admin2@example.org created the account sup4@example.org") {
			t.Errorf("sup4 approving a case of admin1, which made admin2, which made sup4: %v", err)
		}
		// The callback's recorder, tied to the approver either way.
		forged := mk(user(t, db, "ivy@example.org", cases.RoleIntake).Email)
		if _, err := db.RecordVerification(ctx, rec, forged.Number, cases.Verification{Phone: "+12023243000", Outcome: cases.VerifyConfirmed}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []*cases.User{admin2, admin3} {
			if _, err := db.Review(ctx, u, forged.Number, cases.StatusApproved, "ok"); cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), "independent") {
				t.Errorf("%s approving on the callback of rec: %v", u.Email, err)
			}
		}
		if got, _ := db.Case(ctx, forged.Number); got.Status != cases.StatusReceived {
			t.Fatalf("refused approvals changed the case: %s", got.Status)
		}
		if _, err := db.Review(ctx, sup9, forged.Number, cases.StatusApproved, "ok"); err != nil {
			t.Errorf("an independent supervisor approving: %v", err)
		}
	})
}

// An admin cannot change its own role or access, so it cannot become the
// supervisor who approves what the accounts it made recorded.
func TestUserCannotChangeOwnRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		user(t, db, "admin1@example.org", cases.RoleAdmin)
		admin2 := user(t, db, "admin2@example.org", cases.RoleAdmin)
		for _, c := range []struct {
			role     cases.Role
			disabled bool
		}{{cases.RoleSupervisor, false}, {cases.RoleAdmin, true}} {
			if _, err := db.UpdateUser(ctx, "ADMIN2@example.org", admin2.ID, c.role, c.disabled); cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), "own role") {
				t.Errorf("admin2 to %s disabled=%v on its own: %v", c.role, c.disabled, err)
			}
		}
		if u, _ := db.UserByEmail(ctx, admin2.Email); u.Role != cases.RoleAdmin || u.Disabled {
			t.Errorf("refused changes were written: %+v", u)
		}
		if _, err := db.UpdateUser(ctx, admin2.Email, admin2.ID, cases.RoleAdmin, false); err != nil {
			t.Errorf("saving one's own row unchanged: %v", err)
		}
	})
}

// ListUnverified lists the open cases waiting for a callback: an
// emergency or an identity finding without a confirmed callback, or a
// failed callback; not those confirmed, not the others.
func TestListUnverified(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.CreateAgency(ctx, "ada@example.org", fbi()); err != nil {
			t.Fatal(err)
		}
		caller := user(t, db, "cal@example.org", cases.RoleIntake)
		mk := func(p cases.ProcessType, rule string) *cases.Case {
			req := request(t, "subpoena.json")
			req.Agency = cases.Agency{Name: "FBI", Country: "US"}
			req.Process.Type = p
			d := decision(cases.OutcomeNeedsReview)
			if rule != "" {
				d.Findings = []cases.Finding{{Rule: rule, Severity: cases.SeverityReview, Message: "x"}}
			}
			c, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: req, Decision: d})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		verify := func(c *cases.Case, outcome string) {
			if _, err := db.RecordVerification(ctx, caller, c.Number, cases.Verification{Phone: "+12023243000", Outcome: outcome}); err != nil {
				t.Fatal(err)
			}
		}
		plain := mk(cases.Subpoena, "")
		unknown := mk(cases.Subpoena, cases.RuleAgencyUnknown)
		emergency := mk(cases.Emergency, "")
		confirmed := mk(cases.Subpoena, cases.RuleRequester)
		verify(confirmed, cases.VerifyConfirmed)
		failed := mk(cases.Subpoena, cases.RuleAgencyLookalike)
		verify(failed, cases.VerifyConfirmed)
		verify(failed, cases.VerifyFailed)
		// Sent back for clarification, a forgery is still waiting for its callback.
		asked := mk(cases.Subpoena, cases.RuleAgencyLookalike)
		if _, err := db.RequestClarification(ctx, caller, asked.Number, "Which account?"); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListUnverified(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range list {
			got = append(got, fmt.Sprintf("%s %v %v %v", u.Number, u.Emergency, u.Doubts, u.Failed))
		}
		want := []string{
			fmt.Sprintf("%s false [AGENCY-LOOKALIKE] false", asked.Number),
			fmt.Sprintf("%s false [AGENCY-LOOKALIKE] true", failed.Number),
			fmt.Sprintf("%s true [] false", emergency.Number),
			fmt.Sprintf("%s false [AGENCY-UNKNOWN] false", unknown.Number),
		}
		if !slices.Equal(got, want) {
			t.Errorf("unverified:\n%v\nwant\n%v (not %s, %s)", got, want, plain.Number, confirmed.Number)
		}
	})
}
