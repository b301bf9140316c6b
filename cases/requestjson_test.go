package cases

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// requestDocuments are the request documents in testdata: the spec's
// sample, the policy cases and the intake examples.
func requestDocuments(t testing.TB) [][]byte {
	var docs [][]byte
	for _, glob := range []string{"../testdata/requests/*.json", "../testdata/policy/cases/*.request.json"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, data)
		}
	}
	if len(docs) < 10 {
		t.Fatalf("only %d request documents found", len(docs))
	}
	return docs
}

// sameAsEncodingJSON fails t when the fast decoder accepts data and
// encoding/json refuses it or reads it differently.
func sameAsEncodingJSON(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	var got rawRequest
	if !got.decodeFast(data, &rawParts{}) {
		return false
	}
	var want rawRequest
	if err := DecodeStrict(data, &want); err != nil {
		t.Fatalf("fast decoder accepted %q, encoding/json refuses it: %v", data, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast decoder read %q as\n%#v\nencoding/json as\n%#v", data, got, want)
	}
	// And what ParseRequest makes of it on the fast path (strings read in
	// place, then copied out) is what it makes of encoding/json's reading,
	// also once the caller's bytes are overwritten.
	buf := slices.Clone(data)
	req, err := ParseRequest(buf)
	clear(buf)
	wantReq, wantErr := want.validate(time.UTC)
	if !reflect.DeepEqual(req, wantReq) || fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(ErrorFields(err), ErrorFields(wantErr)) {
		t.Fatalf("%q: ParseRequest gives\n%#v, %v\nencoding/json's reading\n%#v, %v", data, req, err, wantReq, wantErr)
	}
	return true
}

// TestDecodeFast: every request document in testdata takes the fast path
// and reads as encoding/json reads it; the documents it must leave to
// encoding/json do not take it.
func TestDecodeFast(t *testing.T) {
	for _, data := range requestDocuments(t) {
		if !sameAsEncodingJSON(t, data) {
			t.Errorf("fast decoder refused %s", data)
		}
	}
	for _, data := range []string{
		`{"Agency":{"name":"x"}}`,                           // a name in another case
		`{"agency":{"name":"x"},"agency":{"country":"US"}}`, // merged by encoding/json
		`{"agency":{"name":"\u0041"}}`,                      // an escape
		`{"agency":{"name":"x"}} {}`,                        // trailing data
		`{"agency":{"name":1}}`,                             // a type error
		`{"agency":{"nmae":"x"}}`,                           // unknown field
		"{\"agency\":{\"name\":\"\xff\"}}",                  // invalid UTF-8
		`null`, ``, `{"targets":[{"kind":"phone","value":"+1"},]}`,
	} {
		if sameAsEncodingJSON(t, []byte(data)) {
			t.Errorf("fast decoder took %s", data)
		}
	}
	for _, data := range []string{`{}`, `{"targets":[],"categories":null,"window":null,"emergency":{"imminent_harm":true}}`,
		` {"agency" : {"name":"Polícia Federal","verified_domains":["pf.gov.br", null]}} `, `{"process":{"issued_at":null,"type":null}}`} {
		if !sameAsEncodingJSON(t, []byte(data)) {
			t.Errorf("fast decoder refused %s", data)
		}
	}
	// More targets than rawParts has room for: the rest on the heap.
	many := `{"targets":[` + strings.Repeat(`{"kind":"phone","value":"+14155550123"},`, 40) + `{"kind":"email","value":"a@b.c"}]}`
	if !sameAsEncodingJSON(t, []byte(many)) {
		t.Errorf("fast decoder refused %s", many)
	}
}

// FuzzDecodeFast: whatever the fast decoder accepts, encoding/json
// accepts and reads the same.
func FuzzDecodeFast(f *testing.F) {
	for _, data := range requestDocuments(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"targets":[],"window":{"from":"2026-01-01","to":null},"emergency":{"imminent_harm":false}}`))
	f.Fuzz(func(t *testing.T, data []byte) { sameAsEncodingJSON(t, data) })
}

// everyField is a request that gives every field the decoder reads,
// each list longer than the room requestBlock keeps for it.
const everyField = `{"received_at":"2026-11-20T09:30:00Z",
 "agency":{"name":" Bundeskriminalamt ","country":"de","verified_domains":["bka.de","BKA.Bund.de","polizei.de"]},
 "requester":{"name":"Jana Weber","email":"j.weber@BKA.de","phone":"+12025550100"},
 "process":{"type":"eu_production_order","via":"mlat","issuing_authority":"Amtsgericht Wiesbaden","reference":"AZ 1/26",
  "issued_at":"2026-11-19","effective_at":"2026-11-20T00:00:00+01:00","expires_at":"2027-01-19T00:00:00Z","nondisclosure_until":"2027-11-19T00:00:00Z",
  "authority_role":"other","validated_by":"judge","enforcing_state_notified":true},
 "emergency":{"description":"a child is missing","imminent_harm":true},
 "targets":[{"kind":"phone","value":"+14155550123"},{"kind":"username","value":"dana"},{"kind":"phone","value":"+14155550124"}],
 "categories":["message_pairs","contacts","profile","ip_logs","device_info","message_pairs"],
 "window":{"from":"2026-11-20T00:00:00Z","to":"2027-03-01"},"due_at":"2026-12-01","due_reason":"the court's deadline"}`

// TestParseRequestOwnsItsStrings: the fast decoder reads strings in
// place, so every string of the request parsed must have been copied out
// of the caller's bytes: none points into them, and the request is the
// same after they are overwritten.
func TestParseRequestOwnsItsStrings(t *testing.T) {
	docs := append(requestDocuments(t), []byte(everyField))
	for _, doc := range docs {
		if !sameAsEncodingJSON(t, doc) {
			t.Fatalf("fast decoder refused %s", doc)
		}
		buf := slices.Clone(doc)
		req, err := ParseRequest(buf)
		if err != nil {
			continue // refused by validation: nothing kept
		}
		lo, hi := uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&buf[0]))+uintptr(len(buf))
		walkStrings(t, reflect.ValueOf(req).Elem(), "request", func(path, s string) {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); s != "" && p >= lo && p < hi {
				t.Errorf("%s %q points into the caller's bytes", path, s)
			}
		})
		clear(buf)
		want, err := ParseRequest(slices.Clone(doc))
		if err != nil || !reflect.DeepEqual(req, want) {
			t.Errorf("the request changed with the caller's bytes:\n%#v\nwant\n%#v (%v)", req, want, err)
		}
	}
	// Every string field is given in everyField, so a field added to
	// Request and not to ownStrings fails above.
	req, err := ParseRequest([]byte(everyField))
	if err != nil {
		t.Fatal(err)
	}
	walkStrings(t, reflect.ValueOf(req).Elem(), "request", func(path, s string) {
		if s == "" {
			t.Errorf("%s is empty: give it in everyField", path)
		}
	})
}

// walkStrings calls f with each string reachable from v but times and
// the directory match (set by the store, never parsed).
func walkStrings(t *testing.T, v reflect.Value, path string, f func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		f(path, v.String())
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(t, v.Elem(), path, f)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkStrings(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			if name := v.Type().Field(i).Name; name != "Directory" {
				walkStrings(t, v.Field(i), path+"."+name, f)
			}
		}
	}
}
