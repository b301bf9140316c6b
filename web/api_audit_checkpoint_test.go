package web

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"envelope/cases"
	"envelope/cases/auditlog"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// An auditor gets the log's checkpoint, signed by the audit key of the
// keys folder; it holds against the log.
func TestAPIAuditCheckpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		keys := filepath.Join(t.TempDir(), "keys")
		if err := f.srv.SetExportDirs(keys, filepath.Join(t.TempDir(), "packages")); err != nil {
			t.Fatal(err)
		}
		f.create(cases.RoleIntake, "subpoena.json")
		w := f.do(cases.RoleAuditor, "GET", "/api/v1/audit/checkpoint", nil, nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("checkpoint: %d %s", w.Code, w.Body)
		}
		k, err := auditlog.LoadKey(keys)
		if err != nil {
			t.Fatal(err)
		}
		th, err := auditlog.Open(w.Body.Bytes(), k.Verifier())
		if err != nil {
			t.Fatalf("%v\n%s", err, w.Body)
		}
		rep, err := db.VerifyTree(context.Background(), []store.TreeHead{th})
		if err != nil || th.Size == 0 || !rep.Intact() {
			t.Fatalf("checkpoint of %d events: %v %+v", th.Size, err, rep)
		}
	})
}
