package metadata

import (
	"errors"
	"time"

	"envelope/cases"
)

var errTime = errors.New("not an RFC 3339 time")

// parseStamp parses an RFC 3339 timestamp ("2026-11-20T09:30:00Z",
// "2026-11-20T09:30:00.123+01:00") into Unix nanoseconds, truncated to the
// microsecond (what every engine stores). It is the collection hot path's
// parser: no allocation, no time.Parse. Anything it does not recognise goes
// to cases.ParseTime, so the two agree on what is a time.
func parseStamp(b []byte) (int64, error) {
	if ns, ok := fastStamp(b); ok {
		return ns, nil
	}
	t, err := cases.ParseTime(string(b))
	if err != nil {
		return 0, errTime
	}
	if y := t.Year(); y < 1678 || y > 2261 {
		return 0, errTime // outside what int64 nanoseconds can hold
	}
	return t.UnixNano(), nil
}

// fastStamp handles YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), a 't'
// and a 'z' too, in the years int64 nanoseconds can hold.
func fastStamp(b []byte) (int64, bool) {
	sec, nsec, year, ok := cases.ReadStamp(b, true)
	if !ok || year < 1678 || year > 2261 { // the year's range keeps this inside int64 nanoseconds
		return 0, false
	}
	return sec*1e9 + nsec, true
}

// stampTime converts Unix nanoseconds back to a UTC time.
func stampTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
