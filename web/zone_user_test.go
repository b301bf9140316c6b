package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// A user with their own zone sees times in it, named; everyone else sees
// the organisation's. The zone is set through the API (one's own, or
// anyone's by an admin) or the "Your settings" page; a bad zone names the
// field and changes nothing.
func TestPerUserTimeZone(t *testing.T) {
	db := storetest.SQLite(t)
	p := newPortal(t, db)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	p.srv.Now = func() time.Time { return now }
	db.Now = func() time.Time { return now }
	if err := db.SetOrgZone(ctx, "test", "Europe/Paris"); err != nil {
		t.Fatal(err)
	}
	var c cases.Case
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", euProduction(`,"emergency":{"description":"a hostage taking","imminent_harm":true}`), &c); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	shows := func(role cases.Role, path, want string) {
		t.Helper()
		body := p.page(role, "GET", path, nil).Body.String()
		i := strings.Index(body, c.Number)
		if i < 0 || !strings.Contains(body[i:], want) {
			t.Errorf("%s %s lacks %q", role, path, want)
		}
	}
	shows(cases.RoleAuditor, "/dashboard", "2026-11-20 18:30 CET")

	var e struct{ Fields map[string]string }
	if w := p.do(cases.RoleAuditor, "PUT", "/api/v1/me/time_zone", []byte(`{"time_zone":"Mars/Olympus"}`), &e); w.Code != http.StatusBadRequest || e.Fields["time_zone"] == "" {
		t.Errorf("bad zone: %d %s", w.Code, w.Body)
	}
	var u cases.User
	if w := p.do(cases.RoleAuditor, "PUT", "/api/v1/me/time_zone", []byte(`{"time_zone":"America/New_York"}`), &u); w.Code != http.StatusOK || u.TimeZone != "America/New_York" {
		t.Fatalf("own zone: %d %s", w.Code, w.Body)
	}
	shows(cases.RoleAuditor, "/dashboard", "2026-11-20 12:30 EST")
	shows(cases.RoleAuditor, "/cases/"+itoa(c.ID), "12:30 EST")
	shows(cases.RoleReviewer, "/dashboard", "2026-11-20 18:30 CET") // the organisation's, still

	// An admin sets another user's zone; a reviewer may not.
	rev, _ := db.UserByEmail(ctx, p.emails[cases.RoleReviewer])
	if w := p.do(cases.RoleReviewer, "PUT", "/api/v1/users/"+itoa(rev.ID)+"/time_zone", []byte(`{"time_zone":"Asia/Tokyo"}`), nil); w.Code != http.StatusForbidden {
		t.Errorf("a reviewer set a zone through the users API: %d", w.Code)
	}
	if w := p.do(cases.RoleAdmin, "PUT", "/api/v1/users/"+itoa(rev.ID)+"/time_zone", []byte(`{"time_zone":"Asia/Tokyo"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("admin: %d %s", w.Code, w.Body)
	}
	shows(cases.RoleReviewer, "/dashboard", "2026-11-21 02:30 JST")
	// and from the users page, where a bad zone names the field.
	if w := p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(rev.ID)+"/time_zone", url.Values{"time_zone": {"Nowhere/Land"}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "time_zone") {
		t.Errorf("users page, bad zone: %d", w.Code)
	}
	if w := p.page(cases.RoleAdmin, "POST", "/admin/users/"+itoa(rev.ID)+"/time_zone", url.Values{"time_zone": {"Europe/Lisbon"}}); w.Code != http.StatusSeeOther {
		t.Errorf("users page: %d %s", w.Code, w.Body)
	}
	if w := p.page(cases.RoleAdmin, "GET", "/admin/users", nil); !strings.Contains(w.Body.String(), `value="Europe/Lisbon"`) {
		t.Errorf("the users page does not show the zone")
	}

	// The portal page: a bad zone is refused naming the field; empty
	// returns to the organisation's zone.
	if w := p.page(cases.RoleAuditor, "POST", "/profile", url.Values{"time_zone": {"nowhere"}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="zone-err"`) {
		t.Errorf("profile bad zone: %d", w.Code)
	}
	if w := p.page(cases.RoleAuditor, "POST", "/profile", url.Values{"time_zone": {""}}); w.Code != http.StatusSeeOther {
		t.Errorf("profile clear: %d %s", w.Code, w.Body)
	}
	shows(cases.RoleAuditor, "/dashboard", "2026-11-20 18:30 CET")
	if got, _ := db.UserByEmail(ctx, p.emails[cases.RoleAuditor]); got.TimeZone != "" {
		t.Errorf("zone after clearing: %q", got.TimeZone)
	}
	if n := countEvents(t, db, "user", u.ID, "user.time_zone"); n != 2 {
		t.Errorf("%d user.time_zone events, want 2", n)
	}
}
