package cases

import "time"

// The fast paths below answer for the common shape of a value and leave
// everything else to the library they stand in for, so a refusal and its
// message are always the library's. Each is held to its library by a
// fuzz test (validfast_test.go). Issue 18: parsing the spec's sample
// spent an eighth of its time in eight time.Parse calls (each date was
// parsed twice) and a twentieth in net/mail.ParseAddress's five
// allocations.

// parseUTCFast reads the shapes clients send (ReadStamp's, upper case
// only, as time.Parse wants them) as time.Parse(RFC3339Nano) followed by
// ParseTime's checks and truncation would. It reports false for any
// other string, valid or not, and for a field out of its range (the
// library then says which).
func parseUTCFast(s string) (time.Time, bool) {
	sec, nsec, _, ok := ReadStamp(s, false)
	if !ok {
		return time.Time{}, false
	}
	t := time.Unix(sec, nsec).UTC()
	if y := t.Year(); y < 0 || y > 9999 { // an offset carried it out: ParseTime says so
		return time.Time{}, false
	}
	return t, true
}

// ReadStamp reads an RFC 3339 time of the common shape,
// YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), without time.Parse and
// without an allocation: Unix seconds, the nanoseconds truncated to the
// microsecond (what every engine stores), and the year as written.
// lower also takes a 't' and a 'z', which time.Parse refuses. It reports
// false for anything else and for a field out of range, so that the
// caller's library decides (and words the error).
func ReadStamp[T string | []byte](b T, lower bool) (sec, nsec int64, year int, ok bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' || !(b[10] == 'T' || lower && b[10] == 't') {
		return 0, 0, 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	second, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || second > 59 {
		return 0, 0, 0, false
	}
	i := 19
	if b[i] == '.' {
		i++
		scale := int64(100_000_000)
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int64(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start || i-start > 9 {
			return 0, 0, 0, false
		}
		nsec -= nsec % 1000
	}
	if i >= len(b) {
		return 0, 0, 0, false
	}
	var offset int64
	switch b[i] {
	case 'Z':
		i++
	case 'z':
		if !lower {
			return 0, 0, 0, false
		}
		i++
	case '+', '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return 0, 0, 0, false
		}
		oh, ok1 := digits(b[i+1 : i+3])
		om, ok2 := digits(b[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, 0, 0, false
		}
		offset = int64(oh*3600 + om*60)
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return 0, 0, 0, false
	}
	if i != len(b) {
		return 0, 0, 0, false
	}
	sec = daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+second) - offset
	return sec, nsec, year, true
}

// digits reads a run of ASCII digits; false if b is empty or holds
// anything else.
func digits[T string | []byte](b T) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn is the number of days of month in the proleptic Gregorian year
// time.Parse uses.
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

// plainAddress reports whether s is an address net/mail.ParseAddress
// accepts as exactly itself without looking further: printable ASCII, a
// dot-atom, one @ and a dot-atom (no quotes, comments, display name,
// domain literal or non-ASCII; those go to the library).
func plainAddress(s string) bool {
	at := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '@':
			if at >= 0 {
				return false
			}
			at = i
		case c < '!' || c > '~' || !atext[c] && c != '.':
			return false
		}
	}
	return at > 0 && dotAtom(s[:at]) && dotAtom(s[at+1:])
}

// dotAtom reports whether s, of atext and dots only, is non-empty with
// no dot at either end and no two together.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '.' && s[i-1] == '.' {
			return false
		}
	}
	return true
}

// atext marks the printable ASCII characters RFC 5322 allows in an atom:
// all but the specials (net/mail's isAtext).
var atext = func() (set [128]bool) {
	for c := '!'; c <= '~'; c++ {
		set[c] = true
	}
	for _, c := range `()<>[]:;@\,".` {
		set[c] = false
	}
	return set
}()
