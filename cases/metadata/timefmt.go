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

// fastStamp handles YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM).
func fastStamp(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year < 1678 || year > 2261 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	i := 19
	var frac int64
	if b[i] == '.' {
		i++
		scale := int64(100_000) // microseconds: further digits are truncated
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			frac += int64(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start || i-start > 9 {
			return 0, false
		}
	}
	if i >= len(b) {
		return 0, false
	}
	var offset int64
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return 0, false
		}
		oh, ok1 := digits(b[i+1 : i+3])
		om, ok2 := digits(b[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = int64(oh*3600 + om*60)
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return 0, false
	}
	if i != len(b) {
		return 0, false
	}
	// The year's range keeps this inside int64 nanoseconds.
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - offset
	return secs*1e9 + frac*1000, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm): cheaper than time.Date on the hot path.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// stampTime converts Unix nanoseconds back to a UTC time.
func stampTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
