package cases

import (
	"testing"
	"time"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := LoadZone("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A window "to 2026-10-31" typed as a date includes the whole of that day in
// the organisation's zone: before, it ended at 2026-10-31T00:00Z and left out
// a record of 10-31 12:00.
func TestWindowToDateIncludesThatDay(t *testing.T) {
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/New_York"} {
		loc, err := LoadZone(zone)
		if err != nil {
			t.Fatal(err)
		}
		req, err := ParseRequestIn([]byte(`{"agency":{"name":"A","country":"US"},"process":{"type":"subpoena"},
			"window":{"from":"2026-10-01","to":"2026-10-31"}}`), loc)
		if err != nil {
			t.Fatal(err)
		}
		noon := time.Date(2026, 10, 31, 12, 0, 0, 0, loc)
		last := time.Date(2026, 10, 31, 23, 59, 59, 0, loc)
		first := time.Date(2026, 10, 1, 0, 0, 0, 0, loc)
		if !req.Window.Contains(noon) || !req.Window.Contains(last) || !req.Window.Contains(first) {
			t.Errorf("%s: window %v does not hold all of 2026-10-01 to 2026-10-31", zone, req.Window)
		}
		if after := time.Date(2026, 11, 1, 0, 0, 0, 0, loc); req.Window.Contains(after) || req.Window.Contains(first.Add(-time.Second)) {
			t.Errorf("%s: window %v holds more than those days", zone, req.Window)
		}
	}
}

// "Response due: today", typed at 17:51, is due at the end of that day in
// the organisation's zone, not at 00:00 UTC (which was overdue at once).
func TestDueDateIsEndOfDayInZone(t *testing.T) {
	loc := berlin(t)
	req, err := ParseRequestIn([]byte(`{"agency":{"name":"A","country":"DE"},"process":{"type":"emergency"},
		"received_at":"2026-12-01T17:51","due_at":"2026-12-01"}`), loc)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 1, 22, 59, 59, 0, time.UTC); !req.DueAt.Equal(want) {
		t.Errorf("due_at = %v, want %v", req.DueAt, want)
	}
	if want := time.Date(2026, 12, 1, 16, 51, 0, 0, time.UTC); !req.ReceivedAt.Equal(want) {
		t.Errorf("received_at = %v, want %v (17:51 in Berlin)", req.ReceivedAt, want)
	}
	if !req.DueAt.After(req.ReceivedAt) {
		t.Error("a deadline of today is overdue the moment it is logged")
	}
	// RFC 3339 keeps its own offset, whatever the zone.
	req, err = ParseRequestIn([]byte(`{"agency":{"name":"A","country":"DE"},"process":{"type":"emergency"},"due_at":"2026-12-01T10:00:00Z"}`), loc)
	if err != nil || !req.DueAt.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339 due_at: %v %v", req.DueAt, err)
	}
}

func TestDayBoundsAcrossDST(t *testing.T) {
	loc := berlin(t)
	// 2026-03-29 is 23 hours long in Berlin, 2026-10-25 is 25.
	for day, hours := range map[string]float64{"2026-03-29": 23, "2026-10-25": 25, "2026-06-01": 24} {
		start, _ := ParseTimeIn(day, loc, StartOfDay)
		end, _ := ParseTimeIn(day, loc, EndOfDayExclusive)
		if got := end.Sub(start).Hours(); got != hours {
			t.Errorf("%s lasts %v hours, want %v", day, got, hours)
		}
	}
}

func TestLoadZoneErrors(t *testing.T) {
	for _, name := range []string{"", "Local", "Mars/Olympus", "CEST"} {
		if _, err := LoadZone(name); err == nil {
			t.Errorf("LoadZone(%q) accepted", name)
		}
	}
}
