package store_test

import (
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Infix search: any part of a reference, a name, a note or a target is
// found, on both engines, through the trigram indexes; a UK national
// number logged by a GB agency is stored in E.164 and found in any format.
func TestInfixSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		pen, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "pen_register.json"), Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		uk := request(t, "subpoena.json")
		uk.Agency.Country = "GB"
		uk.Process.Reference = "MET-OP-77Q41"
		uk.Agency.Name, uk.Requester.Name = "Metropolitan Police", "DC Alderney"
		// A GB national number as a person types it in a portal form,
		// read with the agency's country (the JSON API takes E.164 only).
		uk.Targets = []cases.Target{{Kind: cases.TargetPhone, Value: cases.NationalToE164("07911 123456", "GB")}}
		if uk.Targets[0].Value != "+447911123456" {
			t.Fatalf("GB national number stored as %q, want +447911123456", uk.Targets[0].Value)
		}
		ukc, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: uk, Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.AddNote(ctx, intake, pen.Number, "Counsel: the subscriber is Zanzibarian."); err != nil {
			t.Fatal(err)
		}
		find := func(q string, f cases.CaseFilter) []string {
			t.Helper()
			f.Query = q
			page, err := db.ListSummaries(ctx, f, "", false, "")
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			var out []string
			for _, c := range page.Cases {
				out = append(out, c.Number)
			}
			return out
		}
		for q, want := range map[string]string{
			"7q4": ukc.Number, "op-77": ukc.Number, "lderne": ukc.Number, "anzibar": pen.Number, "5550123": pen.Number,
			"(415) 555-0123": pen.Number, "07911 123456": ukc.Number, "07911123456": ukc.Number, "+44 7911 123456": ukc.Number,
			"0044 7911 123456": ukc.Number, "123456": ukc.Number,
		} {
			if got := find(q, cases.CaseFilter{}); len(got) != 1 || got[0] != want {
				t.Errorf("search %q: %v, want [%s]", q, got, want)
			}
		}
		if got := find("07911 123456", cases.CaseFilter{Country: "GB"}); len(got) != 1 || got[0] != ukc.Number {
			t.Errorf("GB national number with the GB filter: %v", got)
		}
		for _, q := range []string{"7q5", "100%", "a_c", "zzzzzz"} {
			if got := find(q, cases.CaseFilter{}); len(got) != 0 {
				t.Errorf("search %q found %v, want nothing", q, got)
			}
		}
	})
}
