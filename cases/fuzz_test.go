package cases

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseRequest feeds arbitrary bytes to intake parsing: it must never
// panic, must either accept or refuse with an EINVALID error naming a
// field, and what it accepts must survive a JSON round trip unchanged.
func FuzzParseRequest(f *testing.F) {
	files, _ := filepath.Glob("../testdata/requests/*.json")
	more, _ := filepath.Glob("../testdata/policy/cases/*.request.json")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"agency":{"country":"XX"},"targets":[{"kind":"phone","value":"+1*"}]}`))
	f.Add([]byte(`{"window":{"from":"2026-01-01","to":"2025-01-01"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseRequest(data)
		if err != nil {
			if ErrorCode(err) != EINVALID || len(ErrorFields(err)) == 0 {
				t.Fatalf("refusal without a named field: %v", err)
			}
			return
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRequest(b)
		if err != nil {
			t.Fatalf("accepted request does not parse again: %v\n%s", err, b)
		}
		b2, _ := json.Marshal(again)
		if string(b) != string(b2) {
			t.Fatalf("round trip changed the request:\n%s\n%s", b, b2)
		}
	})
}

// FuzzParseTime: any accepted time is UTC, microsecond-precise, and
// formats back to something that parses to the same instant.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-20T09:30:00Z", "2026-11-20", "2026-11-20T09:30:00.123456789+05:30", "", "20/11/2026", "2026-02-30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			return
		}
		if tm.Location() != time.UTC || tm.Nanosecond()%1000 != 0 {
			t.Fatalf("%q → %v: not UTC microseconds", s, tm)
		}
		back, err := ParseTime(tm.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(tm) {
			t.Fatalf("%q → %v does not round-trip: %v", s, tm, err)
		}
	})
}

// FuzzValidPhone: an accepted phone number is strict E.164.
func FuzzValidPhone(f *testing.F) {
	for _, s := range []string{"+14155550123", "+447911123456", "+1 415 555 0123", "+0123", "", "+999999999999999", "+12", "+1", "+9999999999999999", "+14155550123\n", "++1415"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidPhone(s) == "" && !e164.MatchString(s) {
			t.Fatalf("%q accepted but not E.164", s)
		}
		if isE164(s) != e164.MatchString(s) {
			t.Fatalf("%q: isE164 says %v, the regexp the opposite", s, isE164(s))
		}
	})
}
