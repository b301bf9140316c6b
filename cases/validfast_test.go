package cases

import (
	"net/mail"
	"testing"
	"time"
)

// libraryTime is what ParseTime answers without its fast path.
func libraryTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t.Truncate(time.Microsecond), true
}

// checkTimeFast fails t when parseUTCFast answers for s and the library
// does not, or reads another instant (or the same one differently:
// == compares the location too).
func checkTimeFast(t *testing.T, s string) (fast bool) {
	t.Helper()
	got, ok := parseUTCFast(s)
	if !ok {
		return false
	}
	want, libOK := libraryTime(s)
	if !libOK || got != want {
		t.Fatalf("%q: fast path reads %v, time.Parse %v (ok=%v)", s, got, want, libOK)
	}
	return true
}

// TestParseUTCFast: the common shapes take the fast path and read as
// time.Parse reads them (an offset moved to UTC); the shapes it leaves to
// the library do not, nor a time an offset carries out of the years
// 0000-9999.
func TestParseUTCFast(t *testing.T) {
	for _, s := range []string{"2026-11-20T09:30:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
		"2024-02-29T12:00:00Z", "2000-02-29T00:00:00.5Z", "2026-11-20T09:30:00.123456789Z", "2026-11-20T09:30:00.1234567Z",
		"2026-11-20T09:30:00+01:00", "2026-11-20T09:30:00.5-05:30", "2026-12-31T23:30:00-01:00", "0000-01-01T01:30:00+01:00"} {
		if !checkTimeFast(t, s) {
			t.Errorf("%q did not take the fast path", s)
		}
	}
	for _, s := range []string{"2026-11-20", "2026-11-20t09:30:00Z", "9999-12-31T23:00:00-01:00", "0000-01-01T00:30:00+01:00",
		"2026-11-20T09:30:00+24:00", "2026-11-20T09:30:00+0100", "2026-11-20T09:30:00Zjunk", "2026-11-20T09:30:00z",
		"2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-00T00:00:00Z",
		"2026-11-20T24:00:00Z", "2026-11-20T23:60:00Z", "2026-11-20T23:59:60Z", "2026-11-20T09:30:00.Z", "2026-11-20T09:30:00,5Z",
		"2026-11-20T09:30:00.1234567890Z", "+026-11-20T09:30:00Z", "2026-11-20T09:30:0xZ", "2026-11-20 09:30:00Z"} {
		if checkTimeFast(t, s) {
			t.Errorf("%q took the fast path", s)
		}
	}
}

// FuzzParseUTCFast: whatever the fast path reads, time.Parse with
// ParseTime's checks reads the same.
func FuzzParseUTCFast(f *testing.F) {
	for _, s := range []string{"2026-11-20T09:30:00Z", "2024-02-29T23:59:59.999999Z", "1900-02-28T00:00:00.1Z", "2026-11-20T09:30:00+00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkTimeFast(t, s) })
}

// checkAddressFast fails t when plainAddress accepts s and net/mail
// does not read it as exactly s.
func checkAddressFast(t *testing.T, s string) (fast bool) {
	t.Helper()
	if !plainAddress(s) {
		return false
	}
	if addr, err := mail.ParseAddress(s); err != nil || addr.Address != s || addr.Name != "" {
		t.Fatalf("%q: fast path accepts it, net/mail reads %+v, %v", s, addr, err)
	}
	return true
}

// TestPlainAddress: plain addresses take the fast path and net/mail
// agrees; what it leaves to net/mail does not.
func TestPlainAddress(t *testing.T) {
	for _, s := range []string{"dreyes@fbi.gov", "a@b", "first.last+tag@sub.example.co.uk", "o'brien@garda.ie", "x!#$%&'*+-/=?^_`{|}~@y"} {
		if !checkAddressFast(t, s) {
			t.Errorf("%q did not take the fast path", s)
		}
	}
	for _, s := range []string{"", "@fbi.gov", "dreyes@", "dreyes", "a@b@c", ".a@b", "a.@b", "a..b@c", "a@.b", "a@b.", "a@b..c",
		"Dana <dreyes@fbi.gov>", `"d r"@fbi.gov`, "a@[127.0.0.1]", "a b@c", "a@b (comment)", "josé@example.es", "a,b@c", "a@b\x00"} {
		if checkAddressFast(t, s) {
			t.Errorf("%q took the fast path", s)
		}
	}
}

// FuzzPlainAddress: whatever the fast path accepts, net/mail reads as
// that address.
func FuzzPlainAddress(f *testing.F) {
	for _, s := range []string{"dreyes@fbi.gov", "a.b@c.d", "a@b.c (x)", `"q"@x.y`, "<a@b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkAddressFast(t, s) })
}

// TestValidCountryTable: the table answers as the language tables do for
// every string of two bytes.
func TestValidCountryTable(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			code := string([]byte{byte(a), byte(b)})
			if got, want := ValidCountry(code), validCountry(code); got != want {
				t.Fatalf("%q: table says %q, language tables %q", code, got, want)
			}
		}
	}
}
