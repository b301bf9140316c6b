package store_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

func TestAgencies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// A logged case adds its agency.
		if _, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)}); err != nil {
			t.Fatal(err)
		}
		a, err := db.CreateAgency(ctx, "ada@example.org", cases.Agency{Name: "  Federal   Bureau of Investigation ", Country: "us",
			VerifiedDomains: []string{"FBI.gov", "ic.fbi.gov.", "fbi.gov", ""}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Federal Bureau of Investigation" || a.Country != "US" || len(a.VerifiedDomains) != 2 || a.VerifiedDomains[1] != "ic.fbi.gov" {
			t.Fatalf("cleaned agency: %+v", a)
		}
		list, err := db.Agencies(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("directory: %d %v", len(list), err)
		}
		// Same name and country: a conflict naming the field.
		_, err = db.CreateAgency(ctx, "ada@example.org", cases.Agency{Name: "Federal Bureau of Investigation", Country: "US"})
		if cases.ErrorCode(err) != cases.ECONFLICT || cases.ErrorFields(err)["name"] == "" {
			t.Fatalf("duplicate: %v", err)
		}
		for _, bad := range []cases.Agency{
			{Name: "", Country: "US"},
			{Name: "X", Country: "UK"},
			{Name: "X", Country: "US", VerifiedDomains: []string{"officer@fbi.gov"}},
			{Name: "X", Country: "US", VerifiedDomains: []string{"localhost"}},
			{Name: "X\x00", Country: "US"},
		} {
			if _, err := db.CreateAgency(ctx, "ada@example.org", bad); cases.ErrorCode(err) != cases.EINVALID {
				t.Errorf("%+v: %v", bad, err)
			}
		}

		up, err := db.UpdateAgency(ctx, "ada@example.org", a.ID, cases.Agency{Name: "FBI", Country: "US", VerifiedDomains: []string{"fbi.gov"}})
		if err != nil || up.Name != "FBI" {
			t.Fatalf("update: %+v %v", up, err)
		}
		got, err := db.AgencyByID(ctx, a.ID)
		if err != nil || got.Name != "FBI" || len(got.VerifiedDomains) != 1 {
			t.Fatalf("after update: %+v %v", got, err)
		}
		// Renaming onto another agency is a conflict; a missing one is 404.
		other := list[0]
		if other.ID == a.ID {
			other = list[1]
		}
		if _, err := db.UpdateAgency(ctx, "ada@example.org", a.ID, other.Agency); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("rename onto another: %v", err)
		}
		if _, err := db.UpdateAgency(ctx, "ada@example.org", 9999, other.Agency); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("missing: %v", err)
		}

		// Both changes are audited, the update with before and after.
		evs, err := db.Events(ctx, "agency", strconv.FormatInt(a.ID, 10))
		if err != nil || len(evs) != 2 || evs[0].Action != "agency.create" || evs[1].Action != "agency.update" || evs[0].Actor != "ada@example.org" {
			t.Fatalf("audit: %+v %v", evs, err)
		}
		var before cases.Agency
		json.Unmarshal(evs[1].Before, &before)
		if before.Name != "Federal Bureau of Investigation" {
			t.Errorf("audited before: %s", evs[1].Before)
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
