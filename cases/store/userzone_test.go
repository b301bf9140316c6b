package store_test

import (
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A user's own zone (migration 00015) on both engines: read back by every
// way a user is read, audited, "" for the organisation's; a bad zone names
// the field and writes nothing. Clock rules activated are read back last
// first.
func TestUserZoneAndClockRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		u, _, err := db.CreateUser(ctx, "admin@example.org", "zone@example.org", cases.RoleReviewer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetUserZone(ctx, "admin@example.org", u.ID, "Mars/Base"); cases.ErrorFields(err)["time_zone"] == "" {
			t.Fatalf("bad zone: %v", err)
		}
		if got, err := db.SetUserZone(ctx, "zone@example.org", u.ID, "Asia/Tokyo"); err != nil || got.TimeZone != "Asia/Tokyo" {
			t.Fatalf("set: %v %v", got, err)
		}
		tok, err := db.CreateToken(ctx, "admin@example.org", "zone@example.org")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.UserByToken(ctx, tok); err != nil || got.TimeZone != "Asia/Tokyo" {
			t.Errorf("by token: %v %v", got, err)
		}
		sid, err := db.CreateSession(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.SessionUser(ctx, sid); err != nil || got.TimeZone != "Asia/Tokyo" {
			t.Errorf("by session: %v %v", got, err)
		}
		if got, err := db.SetUserZone(ctx, "zone@example.org", u.ID, ""); err != nil || got.TimeZone != "" {
			t.Fatalf("clear: %v %v", got, err)
		}
		if evs, _ := db.Events(ctx, "user", itoa(u.ID)); countAction(evs, "user.time_zone") != 2 {
			t.Errorf("audit: %d user.time_zone events", countAction(evs, "user.time_zone"))
		}

		if _, ok, err := db.ActiveClockRules(ctx); ok || err != nil {
			t.Fatalf("no rules yet: %v %v", ok, err)
		}
		for _, v := range []string{"a", "b"} {
			if err := db.ActivateClockRules(ctx, "admin@example.org", v, []byte("source "+v), ""); err != nil {
				t.Fatal(err)
			}
		}
		if src, ok, err := db.ActiveClockRules(ctx); !ok || err != nil || string(src) != "source b" {
			t.Errorf("active: %q %v %v", src, ok, err)
		}
	})
}

func countAction(evs []*cases.Event, action string) int {
	n := 0
	for _, e := range evs {
		if e.Action == action {
			n++
		}
	}
	return n
}
