package store_test

import (
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

func TestOrgZone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if loc, err := db.OrgZone(ctx); err != nil || loc.String() != "UTC" {
			t.Fatalf("default zone: %v %v", loc, err)
		}
		if err := db.SetOrgZone(ctx, "admin@example.org", "Mars/Base"); cases.ErrorFields(err)["time_zone"] == "" {
			t.Fatalf("bad zone: %v", err)
		}
		for _, z := range []string{"Europe/Berlin", "Europe/Berlin", "America/New_York"} {
			if err := db.SetOrgZone(ctx, "admin@example.org", z); err != nil {
				t.Fatal(err)
			}
		}
		if loc, err := db.OrgZone(ctx); err != nil || loc.String() != "America/New_York" {
			t.Fatalf("zone: %v %v", loc, err)
		}
		evs, err := db.Events(ctx, "settings", "time_zone")
		if err != nil || len(evs) != 2 { // setting the same zone again changes nothing
			t.Fatalf("audit: %d events, %v", len(evs), err)
		}
	})
}
