package web

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
	"envelope/exporter"
)

// A preservation acknowledgement through the API: refused (409) until the
// organisation profile is set, then produced (201), listed and downloaded
// as a zip that verifies; auditors read but do not produce; bad kinds are
// 400 naming the field.
func TestAPILetters(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	dir := t.TempDir()
	if err := f.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
		t.Fatal(err)
	}
	c := f.create(cases.RoleIntake, "subpoena.json")
	path := "/api/v1/cases/" + c.Number + "/letters"
	body := []byte(`{"kind": "no_records"}`)
	if w := f.do(cases.RoleIntake, "POST", path, body, nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "organisation profile") {
		t.Fatalf("without a profile: %d %s", w.Code, w.Body)
	}
	org := &cases.Org{LegalName: "Example Messaging, Inc.", Address: "1 Main St", ContactEmail: "lers@example.com",
		CustodianName: "Jordan Lee", CustodianTitle: "Custodian of Records"}
	if err := f.db.SetOrg(ctx, "test", org); err != nil {
		t.Fatal(err)
	}
	if w := f.do(cases.RoleAuditor, "POST", path, body, nil); w.Code != http.StatusForbidden {
		t.Errorf("auditor producing: %d", w.Code)
	}
	if w := f.do(cases.RoleIntake, "POST", path, []byte(`{"kind": "memo"}`), nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"kind"`) {
		t.Errorf("bad kind: %d %s", w.Code, w.Body)
	}
	var got struct {
		Kind string
		URL  string
	}
	if w := f.do(cases.RoleIntake, "POST", path, body, &got); w.Code != http.StatusCreated || got.Kind != "no_records" {
		t.Fatalf("produce: %d %s", w.Code, w.Body)
	}
	var list struct{ Letters []struct{ URL string } }
	if w := f.do(cases.RoleAuditor, "GET", path, nil, &list); w.Code != 200 || len(list.Letters) != 1 || list.Letters[0].URL != got.URL {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	w := f.do(cases.RoleAuditor, "GET", got.URL, nil, nil)
	exp, _ := f.srv.exporter()
	if w.Code != 200 || len(exporter.Verify(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len()), exp.Builder.Signer.Public())) != 0 {
		t.Errorf("download: %d", w.Code)
	}
	if w := f.do(cases.RoleAuditor, "GET", path+"/..%2Fkeys", nil, nil); w.Code != http.StatusNotFound {
		t.Errorf("a name outside the table: %d", w.Code)
	}
}
