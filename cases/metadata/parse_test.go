package metadata

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The scanner accepts exactly what encoding/json accepts as one object,
// and hands back the same member values.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	lines := []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":"x","b":[1,{"c":[true,false,null]}],"d":{"e":"f"}}`,
		`{"a":"\u00e9\n\"\\\/\b\f\r\t"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`, `{"a":-0.5e+10}`,
		`{"a":1,}`, `{"a"}`, `{"a":}`, `{"a":01}`, `{"a":1.}`, `{"a":"x"}x`, `{"a":"x"}{}`, `[1]`, `"x"`,
		`{"a":"` + "\x01" + `"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":tru}`, `{"a":[1,2}`, `{"a":{"b":1]}`,
		`{"a":"` + "\xff" + `"}`, `{"a":1 "b":2}`, `{"a":[]}`, `{"a":[ ]}`, `{"a":{}}`, `{`, `{"a":"x`, ``,
		`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	}
	for _, line := range lines {
		var want map[string]any
		wantErr := json.Unmarshal([]byte(line), &want)
		var sc scanner
		got := map[string]any{}
		for sc.reset([]byte(line)); sc.next(); {
			var v any
			raw := sc.val
			if sc.typ == typeString {
				b, _ := json.Marshal(string(sc.str()))
				raw = b
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatalf("%q: member %s: scanner gave %q: %v", line, sc.key, raw, err)
			}
			got[string(sc.key)] = v
		}
		switch {
		case strings.Contains(line, strings.Repeat("[", 100)):
			if sc.err == nil {
				t.Errorf("%q: deep nesting accepted", line)
			}
		case (wantErr == nil) != (sc.err == nil):
			t.Errorf("%q: encoding/json says %v, scanner says %v", line, wantErr, sc.err)
		case wantErr == nil:
			a, _ := json.Marshal(want)
			b, _ := json.Marshal(got)
			if string(a) != string(b) {
				t.Errorf("%q: got %s, want %s", line, b, a)
			}
		}
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{`{"from":"+14155550123","to":"+1","at":"2026-11-20T10:00:00Z","kind":"text"}`, `{"a":[{"b":"\u00e9"}]}`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var sc scanner
		for sc.reset([]byte(line)); sc.next(); {
			sc.str()
		}
		// json.Valid, not Unmarshal: 1e999 is valid JSON that no float64 holds.
		jsonOK := json.Valid([]byte(line)) && strings.HasPrefix(strings.TrimLeft(line, " \t\r\n"), "{")
		if jsonOK && sc.err != nil && !errors.Is(sc.err, errDepth) {
			t.Fatalf("%q: valid JSON rejected: %v", line, sc.err)
		}
		if !jsonOK && sc.err == nil {
			t.Fatalf("%q: invalid JSON accepted", line)
		}
	})
}

// The fast timestamp parser agrees with time.Parse, to the microsecond.
func TestParseStamp(t *testing.T) {
	good := []string{
		"2026-11-20T09:30:00Z", "2026-11-20t09:30:00z", "2026-11-20T09:30:00.123456789Z", "2026-11-20T09:30:00.1+01:00",
		"2024-02-29T23:59:59-05:30", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "2261-12-31T23:59:59Z",
		"1678-01-01T00:00:00Z", "2000-03-01T00:00:00+14:00",
	}
	for _, s := range good {
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseStamp([]byte(s))
		if err != nil || got != want.Truncate(time.Microsecond).UnixNano() {
			t.Errorf("%s: got %v (%v), want %v", s, stampTime(got), err, want)
		}
		if _, ok := fastStamp([]byte(s)); !ok {
			t.Errorf("%s: took the slow path", s)
		}
	}
	// A plain date is a time too (midnight UTC), as everywhere in envelope.
	if got, err := parseStamp([]byte("2026-11-20")); err != nil || !stampTime(got).Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date: %v %v", stampTime(got), err)
	}
	for _, s := range []string{"", "2026-11-20T09:30:00", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-20T24:00:00Z",
		"2026-11-20T09:30:60Z", "2026-11-20T09:30:00.Z", "2026-11-20T09:30:00+0100", "yesterday", "3000-01-01T00:00:00Z",
		"2026-11-20T09:30:00Zjunk", "1600-01-01T00:00:00Z"} {
		if _, err := parseStamp([]byte(s)); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzParseStamp(f *testing.F) {
	f.Add("2026-11-20T09:30:00.123+01:00")
	f.Fuzz(func(t *testing.T, s string) {
		ns, ok := fastStamp([]byte(s))
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			t.Fatalf("%q: fast path accepted what time.Parse refuses: %v", s, err)
		}
		if ns != want.Truncate(time.Microsecond).UnixNano() {
			t.Fatalf("%q: %v, want %v", s, stampTime(ns), want)
		}
	})
}

func TestParseEvent(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).UnixNano()
	var sc scanner
	var ev event
	good := []string{
		`{"from":"+14155550123","to":"+447911123456","at":"2026-11-20T10:00:00Z","kind":"text"}`,
		`{"kind":"text","at":"2026-11-20T11:00:00+01:00","to":"+447911123456","from":"+14155550123","body":"hello there"}`,
		`{"from":"+1415555\u00301\u0032\u0033","to":"+447911123456","at":"2026-11-20T10:00:00Z","kind":"te\u0078t","body":{"nested":["x"]}}`,
		`{"fr\u006fm":"+14155550123","to":"+447911123456","at":"2026-11-20T10:00:00.000000Z","kind":"text"}`,
	}
	for _, line := range good {
		if err := parseEvent(&sc, []byte(line), &ev); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if string(ev.from) != "+14155550123" || string(ev.to) != "+447911123456" || ev.at != at || string(ev.kind) != "text" {
			t.Errorf("%s: got %s %s %v %s", line, ev.from, ev.to, stampTime(ev.at), ev.kind)
		}
	}
	bad := map[string]string{
		`{"to":"+1","at":"2026-11-20T10:00:00Z","kind":"text"}`:                   "from: is required",
		`{"from":"+1","at":"2026-11-20T10:00:00Z","kind":"text"}`:                 "to: is required",
		`{"from":"+1","to":"+2","kind":"text"}`:                                   "at: is required",
		`{"from":"+1","to":"+2","at":"soon","kind":"text"}`:                       "at: is not an RFC 3339",
		`{"from":"+1","to":"+2","at":"2026-11-20T10:00:00Z","kind":"letter"}`:     "kind: must be one of",
		`{"from":"+1","to":"+2","at":"2026-11-20T10:00:00Z"}`:                     "kind: must be one of",
		`{"from":1,"to":"+2","at":"2026-11-20T10:00:00Z","kind":"text"}`:          "from: must be a string",
		`{"from":"+1 2","to":"+2","at":"2026-11-20T10:00:00Z","kind":"text"}`:     "from: must be one account",
		`{"from":"+1","to":"+2","at":"2026-11-20T10:00:00Z","kind":"text"`:        "truncated",
		`{"from":"+1","to":"+2","at":"2026-11-20T10:00:00Z","kind":"text"} extra`: "unexpected data",
		`not json`: "not a JSON object",
	}
	for line, want := range bad {
		err := parseEvent(&sc, []byte(line), &ev)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", line, err, want)
		}
	}
}

// Parsing a well-formed event allocates nothing: the filter's throughput
// depends on it.
func TestParseEventAllocs(t *testing.T) {
	line := []byte(`{"from":"+14155550123","to":"+447911123456","at":"2026-11-20T10:00:00.123Z","kind":"text","body":"x"}`)
	var sc scanner
	var ev event
	ix := newIndex(1, time.Now(), nil)
	ix.targets["+14155550123"] = []span{{0, 1 << 62, 7}}
	var dst []int64
	allocs := testing.AllocsPerRun(1000, func() {
		if err := parseEvent(&sc, line, &ev); err != nil {
			t.Fatal(err)
		}
		dst = ix.match(ev.from, ev.to, ev.at, dst[:0])
	})
	if allocs != 0 || len(dst) != 1 {
		t.Fatalf("%v allocations per event, %d matches", allocs, len(dst))
	}
}

func TestDecodeRecords(t *testing.T) {
	lines := map[string]Record{
		`{"kind":"subscriber","account":"+14155550123","name":"Dana Reyes","email":"d@example.com","created_at":"2020-01-02T03:04:05Z","last_seen_at":null,"registration_ip":"203.0.113.9","last_ip":"2001:db8::1","payment":"visa 4111"}`: &Subscriber{
			Header: Header{KindSubscriber, "+14155550123"}, Name: "Dana Reyes", Email: "d@example.com", CreatedAt: ptr(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)),
			RegistrationIP: "203.0.113.9", LastIP: "2001:db8::1"},
		`{"kind":"ip_session","account":"acc_9f8e7d6c","at":"2026-11-20T10:00:00Z","ip":"198.51.100.7","port":443}`: &IPSession{
			Header: Header{KindIPSession, "acc_9f8e7d6c"}, At: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), IP: "198.51.100.7", Port: 443},
		`{"kind":"device","account":"+14155550123","device_id":"dev_1","os":"iOS","os_version":"17.4","app_version":"2.26.1.0","model":"iPhone 15"}`: &Device{
			Header: Header{KindDevice, "+14155550123"}, DeviceID: "dev_1", OS: "iOS", OSVersion: "17.4", AppVersion: "2.26.1.0", Model: "iPhone 15"},
		`{"kind":"profile","account":"+14155550123","about":"Available","language":"en-US","time_zone":"America/New_York","photo_sha256":"` + strings.Repeat("ab", 32) + `","photo":"base64..."}`: &Profile{
			Header: Header{KindProfile, "+14155550123"}, About: "Available", Language: "en-US", TimeZone: "America/New_York", PhotoSHA256: strings.Repeat("ab", 32)},
		`{"kind":"group_membership","account":"+14155550123","group_id":"grp_1","group_name":"Family","members":12,"role":"admin"}`: &GroupMembership{
			Header: Header{KindGroupMembership, "+14155550123"}, GroupID: "grp_1", GroupName: "Family", Members: 12, Role: "admin"},
		`{"kind":"linked_account","account":"+14155550123","service":"instagram","service_account":"dana_r"}`: &LinkedAccount{
			Header: Header{KindLinkedAccount, "+14155550123"}, Service: "instagram", ServiceAccount: "dana_r"},
		`{"kind":"enforcement","account":"+14155550123","at":"2026-01-01T00:00:00Z","action":"ban","reason":"spam","evidence":"the reported message text"}`: &Enforcement{
			Header: Header{KindEnforcement, "+14155550123"}, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Action: "ban", Reason: "spam"},
		`{"kind":"contact","account":"+14155550123","contact":"+447911123456","contact_name":"Mum"}`: &Contact{
			Header: Header{KindContact, "+14155550123"}, Contact: "+447911123456"},
		`{"kind":"message","from":"+14155550123","to":"+447911123456","at":"2026-11-20T10:00:00Z","body":"meet at 6","attachments":[{"url":"x"}]}`: &Message{
			Header: Header{KindMessage, "+14155550123"}, From: "+14155550123", To: "+447911123456", At: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), MessageKind: "text"},
	}
	for line, want := range lines {
		got, err := Decode([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("%s:\n got %s\nwant %s", line, a, b)
		}
		for _, leak := range []string{"visa", "base64", "reported message", "Mum", "meet at", "url"} {
			if strings.Contains(string(a), leak) {
				t.Errorf("%s: unknown field leaked into the record: %s", line, a)
			}
		}
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	bad := map[string]string{
		`{"account":"+14155550123"}`:                                                                                         "kind: is required",
		`{"kind":"letter","account":"+14155550123"}`:                                                                         `kind: "letter" is not a record kind`,
		`{"kind":"device","device_id":"d"}`:                                                                                  "account: is required",
		`{"kind":"device","account":"+1415","device_id":"d"}`:                                                                "account: is not a valid phone number",
		`{"kind":"device","account":"user*","device_id":"d"}`:                                                                "account: must name one account",
		`{"kind":"device","account":"+14155550123"}`:                                                                         "device_id: is required for a device record",
		`{"kind":"ip_session","account":"+14155550123","at":"2026-11-20","ip":"999.0.0.1"}`:                                  `ip: "999.0.0.1" is not an IP address`,
		`{"kind":"ip_session","account":"+14155550123","at":"monday","ip":"10.0.0.1"}`:                                       `at: "monday" is not an RFC 3339 time`,
		`{"kind":"ip_session","account":"+14155550123","ip":"10.0.0.1"}`:                                                     "at: is required",
		`{"kind":"ip_session","account":"+14155550123","at":"2026-11-20","ip":"10.0.0.1","port":70000}`:                      "port: must be a whole number from 0 to 65535",
		`{"kind":"group_membership","account":"+14155550123","group_id":"g","members":"12"}`:                                 "members: must be a whole number",
		`{"kind":"profile","account":"+14155550123","photo_sha256":"abc"}`:                                                   "photo_sha256: must be 64 hexadecimal digits",
		`{"kind":"profile","account":"+14155550123","about":"` + strings.Repeat("x", 1001) + `"}`:                            "about: is longer than 1000 bytes",
		`{"kind":"message","account":"+447911123456","from":"+14155550123","to":"+12125550188","at":"2026-11-20T10:00:00Z"}`: "account: must be the message's from or to",
		`{"kind":"message","from":"+14155550123","to":"+447911123456","at":"2026-11-20T10:00:00Z","message_kind":"fax"}`:     "message_kind:",
		`{"kind":"subscriber","account":"+14155550123","name":7}`:                                                            "name: must be a string, not a number",
		`{"kind":"subscriber","account":"+14155550123",}`:                                                                    "malformed JSON",
	}
	for line, want := range bad {
		_, err := Decode([]byte(line))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", line, err, want)
		}
	}
}

// No record kind has a field that could hold content: the field lists are
// the whole schema, and this guards them against a careless addition.
func TestNoContentFields(t *testing.T) {
	for _, k := range Kinds {
		for _, f := range NewRecord(k).fields() {
			for _, word := range []string{"body", "content", "text", "caption", "media", "attachment", "message"} {
				if strings.Contains(f.name, word) && f.name != "message_kind" {
					t.Errorf("%s has a field %q", k, f.name)
				}
			}
		}
	}
	if _, ok := KindOf("message_content"); ok {
		t.Fatal("message_content has a record kind")
	}
}

func ptr[T any](v T) *T { return &v }
