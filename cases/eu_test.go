package cases

import (
	"strings"
	"testing"
)

func TestEUOrderFields(t *testing.T) {
	doc := func(process string) []byte {
		return []byte(`{"agency":{"name":"Parquet de Paris","country":"FR"},"process":` + process + `,"targets":[{"kind":"phone","value":"+33612345678"}]}`)
	}
	bad := []struct{ process, field, want string }{
		{`{"type":"eu_production_order"}`, "process.authority_role", "is required on an EU order"},
		{`{"type":"eu_preservation_order","authority_role":"police"}`, "process.authority_role", `"police" is not an authority role`},
		{`{"type":"eu_production_order","authority_role":"other"}`, "process.validated_by", "is required when authority_role is other"},
		{`{"type":"eu_production_order","authority_role":"other","validated_by":"police"}`, "process.validated_by", `"police" cannot validate`},
		{`{"type":"eu_production_order","authority_role":"judge","validated_by":"other"}`, "process.validated_by", `"other" cannot validate`},
		{`{"type":"subpoena","authority_role":"judge"}`, "process.authority_role", "only for EU orders"},
		{`{"type":"foreign_court_order","enforcing_state_notified":true}`, "process.enforcing_state_notified", "only for EU orders"},
	}
	for _, tc := range bad {
		_, err := ParseRequest(doc(tc.process))
		if got := ErrorFields(err)[tc.field]; !strings.Contains(got, tc.want) {
			t.Errorf("%s: %s = %q, want %q (err %v)", tc.process, tc.field, got, tc.want, err)
		}
	}
	req, err := ParseRequest(doc(`{"type":"eu_production_order","authority_role":"other","validated_by":"judge","enforcing_state_notified":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := req.Process; p.EffectiveRole() != RoleJudge || !p.EnforcingStateNotified {
		t.Errorf("process = %+v", p)
	}
	if PhoneRegion("+17875550123") != "PR" || PhoneRegion("+14155550123") != "US" || PhoneRegion("+61412345678") != "AU" {
		t.Error("PhoneRegion")
	}
}
