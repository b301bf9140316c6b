package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/exporter"
)

// The "done when": a pen register logged, decided, approved by
// another user and exported through the API yields a zip that verifies,
// holding exactly the pairs the decision allows.
func TestAPIExportEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		f.srv.Now = func() time.Time { return now }
		db.Now = func() time.Time { return now }
		later := func() { now = now.Add(time.Hour) } // collection starts at the approval
		dir := t.TempDir()
		if err := f.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
			t.Fatal(err)
		}

		c := f.create(cases.RoleIntake, "pen_register.json")
		// Not approved yet: 409.
		if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+c.Number+"/export", nil, nil); w.Code != http.StatusConflict {
			t.Fatalf("export before approval: %d %s", w.Code, w.Body)
		}
		if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+c.Number+"/approve", []byte(`{"note": ""}`), nil); w.Code != http.StatusOK {
			t.Fatalf("approve: %d %s", w.Code, w.Body)
		}
		later()
		events := strings.Join([]string{
			`{"from":"+14155550123","to":"+14155550188","at":"2026-11-21T12:10:00Z","kind":"text","body":"PLANTED body"}`,
			`{"from":"+14155550177","to":"+14155550123","at":"2026-11-21T12:15:00Z","kind":"call"}`,
			`{"from":"+14155550177","to":"+14155550166","at":"2026-11-21T12:16:00Z","kind":"text"}`,
		}, "\n")
		var got map[string]int
		if w := f.do(cases.RoleCollector, "POST", "/api/v1/collect/events", []byte(events), &got); w.Code != http.StatusOK || got["kept"] != 2 {
			t.Fatalf("collect: %d %s", w.Code, w.Body)
		}

		// Roles: auditors and collectors may not produce.
		for _, r := range []cases.Role{cases.RoleAuditor, cases.RoleCollector} {
			if w := f.do(r, "POST", "/api/v1/cases/"+c.Number+"/export", nil, nil); w.Code != http.StatusForbidden {
				t.Errorf("%s exporting: %d", r, w.Code)
			}
		}
		var ans struct {
			Package string `json:"package"`
			SHA256  string `json:"sha256"`
			URL     string `json:"url"`
		}
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/export", nil, &ans); w.Code != http.StatusCreated || ans.Package == "" || len(ans.SHA256) != 64 {
			t.Fatalf("export: %d %s", w.Code, w.Body)
		}
		var cs cases.Case
		f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+c.Number, nil, &cs)
		if cs.Status != cases.StatusProduced {
			t.Errorf("case status after export: %s", cs.Status)
		}
		var list struct {
			Packages []map[string]any `json:"packages"`
		}
		if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+c.Number+"/exports", nil, &list); w.Code != http.StatusOK || len(list.Packages) != 1 || list.Packages[0]["package"] != ans.Package {
			t.Fatalf("list: %d %s", w.Code, w.Body)
		}

		w := f.do(cases.RoleAuditor, "GET", ans.URL, nil, nil)
		sum := sha256.Sum256(w.Body.Bytes())
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/zip" || hex.EncodeToString(sum[:]) != ans.SHA256 {
			t.Fatalf("download: %d %s", w.Code, w.Header())
		}
		zipBytes := w.Body.Bytes()
		kw := f.do(cases.RoleCollector, "GET", "/api/v1/signing-key", nil, nil)
		pub, err := exporter.ParsePublicKeyPEM(kw.Body.Bytes())
		if kw.Code != http.StatusOK || err != nil {
			t.Fatalf("signing key: %d %v", kw.Code, err)
		}
		if probs := exporter.Verify(bytes.NewReader(zipBytes), int64(len(zipBytes)), pub); len(probs) != 0 {
			t.Fatalf("the downloaded package does not verify: %v", probs)
		}
		if bytes.Contains(zipBytes, []byte("PLANTED")) {
			t.Error("planted body in the package")
		}

		// Only names from the packages table are served.
		for _, name := range []string{"..%2F..%2Fenvelope.db", "..", "x.zip", strings.TrimSuffix(ans.Package, ".zip") + "0.zip"} {
			if w := f.do(cases.RoleAuditor, "GET", "/api/v1/cases/"+c.Number+"/exports/"+name, nil, nil); w.Code != http.StatusNotFound {
				t.Errorf("download %q: %d", name, w.Code)
			}
		}
		req := httptest.NewRequest("GET", "/api/v1/cases/"+c.Number+"/exports/../../keys/signing-key.private.pem", nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleAuditor])
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK || strings.Contains(rec.Body.String(), "PRIVATE KEY") {
			t.Errorf("path traversal served: %d", rec.Code)
		}
	})
}
