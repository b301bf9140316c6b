package cases

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
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
	if !got.decodeFast(data) {
		return false
	}
	var want rawRequest
	if err := DecodeStrict(data, &want); err != nil {
		t.Fatalf("fast decoder accepted %q, encoding/json refuses it: %v", data, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast decoder read %q as\n%#v\nencoding/json as\n%#v", data, got, want)
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
