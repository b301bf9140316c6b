package cases

import (
	"fmt"
	"strings"
	"time"
)

// DefaultZone is the organisation's time zone until an administrator sets
// one: UTC, so that a database without the setting reads as it always did.
const DefaultZone = "UTC"

// LoadZone returns the IANA time zone name (e.g. Europe/Berlin), or an error
// saying what is wrong with it. "Local" is refused: the zone of the machine
// that happens to run envelope is not the organisation's.
func LoadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, fmt.Errorf("is required (an IANA time zone such as Europe/Berlin or America/New_York)")
	case strings.EqualFold(name, "local"):
		return nil, fmt.Errorf("%q depends on the machine: name the zone, e.g. Europe/Berlin", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)", name)
	}
	return loc, nil
}

// Layouts of a time typed without a zone, as a person types it or as an
// HTML datetime-local input sends it. They are read in the organisation's
// zone.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// Bound says which end of a period a date typed without a time stands for.
type Bound int

const (
	// StartOfDay reads a bare date as the first instant of that day.
	StartOfDay Bound = iota
	// EndOfDayExclusive reads a bare date as the whole day up to the start
	// of the next one: the exclusive end of a window "to 2026-10-31" is
	// 2026-11-01 00:00, so a record at 10-31 12:00 is inside it.
	EndOfDayExclusive
	// EndOfDayInclusive reads a bare date as the last second of that day: a
	// deadline "due 2026-12-01" runs until 23:59:59, not until midnight
	// before the day begins.
	EndOfDayInclusive
)

// ParseTimeIn parses an RFC 3339 timestamp (its own offset rules), a local
// date and time without an offset (read in loc), or a bare date (read in loc
// as the bound says). The result is in UTC, truncated to the microsecond as
// ParseTime's is.
func ParseTimeIn(s string, loc *time.Location, b Bound) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, ok := parseUTCFast(s); ok { // the shape clients send, whatever loc
		return t, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return ParseTime(s)
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return inRange(s, t)
		}
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a date: %q (use RFC 3339, e.g. 2026-11-20T09:30:00Z, or a date such as 2026-11-20)", s)
	}
	switch b {
	case EndOfDayExclusive:
		d = NextDay(d, loc)
	case EndOfDayInclusive:
		d = NextDay(d, loc).Add(-time.Second)
	}
	return inRange(s, d)
}

func inRange(s string, t time.Time) (time.Time, error) {
	if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("%q is outside the years 0000 to 9999 in UTC", s)
	}
	return t.Truncate(time.Microsecond), nil
}

// DayStart returns the first instant of t's day in loc. On a day whose
// midnight is skipped by a DST change, time.Date moves it forward, which is
// the first instant that exists.
func DayStart(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// NextDay returns the first instant of the day after t's in loc: days are
// counted on the calendar, so a day of a DST change is 23 or 25 hours long.
func NextDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}
