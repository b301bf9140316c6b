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

func emergencyIntake() url.Values {
	return url.Values{
		"action":      {"save"},
		"agency.name": {"Polizei Berlin"}, "agency.country": {"DE"}, "agency.verified_domains": {"polizei.berlin.de"},
		"requester.name": {"K. Weber"}, "requester.email": {"k.weber@polizei.berlin.de"},
		"process.type":          {"emergency"},
		"emergency.description": {"a missing child"}, "emergency.imminent_harm": {"on"},
		"target_kind": {"phone"}, "target_value": {"+4915112345678"},
		"categories":  {"basic_subscriber_info"},
		"window.from": {"2026-10-01"}, "window.to": {"2026-10-31"},
		"due_at": {"2026-12-01"}, "received_at": {"2026-12-01T17:40"},
	}
}

// The three date defects of issue 15, as a user met them in the portal of an
// organisation in Berlin at 17:51 on 2026-12-01.
func TestPortalTimesInOrganisationZone(t *testing.T) {
	db := storetest.SQLite(t)
	p := newPortal(t, db)
	now := time.Date(2026, 12, 1, 16, 51, 0, 0, time.UTC) // 17:51 in Berlin
	p.srv.Now = func() time.Time { return now }

	// An admin sets the zone; a bad one names the field and changes nothing.
	if w := p.do(cases.RoleAdmin, "PUT", "/api/v1/settings/time_zone", []byte(`{"time_zone":"Europe/Berlinn"}`), nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"time_zone"`) {
		t.Fatalf("bad zone: %d %s", w.Code, w.Body)
	}
	if w := p.do(cases.RoleReviewer, "PUT", "/api/v1/settings/time_zone", []byte(`{"time_zone":"Europe/Berlin"}`), nil); w.Code != http.StatusForbidden {
		t.Fatalf("a reviewer set the zone: %d", w.Code)
	}
	if w := p.do(cases.RoleAdmin, "PUT", "/api/v1/settings/time_zone", []byte(`{"time_zone":"Europe/Berlin"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("set zone: %d %s", w.Code, w.Body)
	}

	body, ctype := multipartForm(t, emergencyIntake(), "", nil)
	w := p.post(cases.RoleIntake, "/cases/new", body, ctype)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	loc := strings.TrimSuffix(w.Header().Get("Location"), "?done=created")
	c, err := db.Case(ctx, strings.TrimPrefix(loc, "/cases/"))
	if err != nil {
		t.Fatal(err)
	}
	// (a) due today = end of today in Berlin; received when typed, not now.
	if want := time.Date(2026, 12, 1, 22, 59, 59, 0, time.UTC); c.DueAt == nil || !c.DueAt.Equal(want) {
		t.Errorf("due_at = %v, want %v", c.DueAt, want)
	}
	if want := time.Date(2026, 12, 1, 16, 40, 0, 0, time.UTC); !c.ReceivedAt.Equal(want) {
		t.Errorf("received_at = %v, want %v", c.ReceivedAt, want)
	}
	// (c) the window holds the whole of 2026-10-31 in Berlin.
	if c.Window == nil || !c.Window.Contains(time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)) || !c.Window.To.Equal(time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("window = %+v", c.Window)
	}

	// (b) the page shows the hour and the zone, and the case is not overdue.
	page := p.page(cases.RoleAuditor, "GET", loc, nil).Body.String()
	for _, want := range []string{"due 2026-12-01 23:59 CET (due today)", "received 2026-12-01 17:40 CET", "2026-10-01 00:00 – 2026-10-31 24:00 CET"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	if strings.Contains(page, "overdue") {
		t.Error("case page says overdue")
	}
	dash := p.page(cases.RoleAuditor, "GET", "/dashboard", nil).Body.String()
	today := dash[strings.Index(dash, `id="h-today"`):]
	if !strings.Contains(today, c.Number) || !strings.Contains(today, "2026-12-01 23:59 CET") {
		t.Errorf("dashboard's due-today panel lacks the case with its hour:\n%s", today)
	}
	if i := strings.Index(dash, `id="h-overdue"`); i >= 0 && strings.Contains(dash[i:strings.Index(dash, `id="h-today"`)], c.Number) {
		t.Error("the case is on the overdue panel")
	}

	// The JSON API stays RFC 3339 in UTC.
	var got map[string]any
	p.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+itoa(c.ID), nil, &got)
	if got["due_at"] != "2026-12-01T22:59:59Z" {
		t.Errorf("API due_at = %v", got["due_at"])
	}
}

// An admin changes the zone on the settings page; a bad zone is shown next
// to its field and changes nothing.
func TestPortalSettingsPage(t *testing.T) {
	db := storetest.SQLite(t)
	p := newPortal(t, db)
	page := p.page(cases.RoleAdmin, "GET", "/admin/settings", nil)
	if page.Code != 200 || !strings.Contains(page.Body.String(), `value="UTC"`) {
		t.Fatalf("settings: %d %s", page.Code, page.Body)
	}
	checkTitleAndLabels(t, "/admin/settings", page.Body.String())
	w := p.page(cases.RoleAdmin, "POST", "/admin/settings", url.Values{"time_zone": {"Europe/Berln"}}, "Origin", "http://example.com")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "is not an IANA time zone") {
		t.Fatalf("bad zone: %d %s", w.Code, w.Body)
	}
	if w := p.page(cases.RoleAdmin, "POST", "/admin/settings", url.Values{"time_zone": {"Asia/Kolkata"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	if loc, _ := db.OrgZone(ctx); loc.String() != "Asia/Kolkata" {
		t.Errorf("zone = %v", loc)
	}
	if w := p.page(cases.RoleReviewer, "POST", "/admin/settings", url.Values{"time_zone": {"UTC"}}); w.Code != http.StatusForbidden {
		t.Errorf("reviewer: %d", w.Code)
	}
}
