package web

import (
	"net/http"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

func euOrder(process string) []byte {
	return []byte(`{"received_at":"2026-11-20T09:30:00Z","agency":{"name":"Parquet de Paris","country":"FR"},
		"requester":{"name":"A","email":"a@justice.fr"},"process":` + process + `,
		"targets":[{"kind":"phone","value":"+33612345678"}],"categories":["basic_subscriber_info","ip_logs"]}`)
}

// An EU order without authority_role, or with an unknown validated_by, is
// 400 naming the field, and nothing is stored.
func TestAPIEUOrderInput(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	for field, process := range map[string]string{
		"process.authority_role": `{"type":"eu_production_order","issuing_authority":"Parquet","reference":"E-1","issued_at":"2026-11-19"}`,
		"process.validated_by":   `{"type":"eu_production_order","issuing_authority":"Parquet","reference":"E-1","issued_at":"2026-11-19","authority_role":"other","validated_by":"police"}`,
	} {
		var e struct{ Fields map[string]string }
		if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", euOrder(process), &e); w.Code != http.StatusBadRequest || e.Fields[field] == "" {
			t.Errorf("%s: %d %s", field, w.Code, w.Body)
		}
	}
	if n, _ := f.db.CountCases(ctx); n != 0 {
		t.Fatalf("%d cases stored from bad input", n)
	}
	var c map[string]any
	w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", euOrder(`{"type":"eu_production_order","issuing_authority":"Parquet","reference":"E-1","issued_at":"2026-11-19","authority_role":"other","validated_by":"prosecutor","enforcing_state_notified":true}`), &c)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	p := c["process"].(map[string]any)
	if p["authority_role"] != "other" || p["validated_by"] != "prosecutor" || p["enforcing_state_notified"] != true {
		t.Errorf("process = %v", p)
	}
	if body := w.Body.String(); !strings.Contains(body, `"rule":"EU-EPOC"`) {
		t.Errorf("decision lacks EU-EPOC: %s", body)
	}
}
