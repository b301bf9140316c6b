package store_test

import (
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Search finds what people type: a phone in any format, a part of a
// reference, a word of a note; an overlong query is refused with 400.
func TestSearchFindsWhatPeopleType(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		pen, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "pen_register.json"), Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		sub, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.AddNote(ctx, intake, sub.Number, "Agency called: the whistleblower account is the target."); err != nil {
			t.Fatal(err)
		}
		find := func(q string) []string {
			t.Helper()
			page, err := db.ListSummaries(ctx, cases.CaseFilter{Query: q}, "", false, "")
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
			"4155550123": pen.Number, "+1 (415) 555-0123": pen.Number, "14155550123": pen.Number, "415 555 0123": pen.Number,
			"0117": sub.Number, "gj-2026": sub.Number, "415-555-0123": pen.Number, "GJ-2026-0117": sub.Number, "whistleblower": sub.Number,
		} {
			if got := find(q); len(got) != 1 || got[0] != want {
				t.Errorf("search %q: %v, want [%s]", q, got, want)
			}
		}
		for _, q := range []string{strings.Repeat("x", 10000), strings.Repeat("a ", 9)} {
			if _, err := db.ListSummaries(ctx, cases.CaseFilter{Query: q}, "", false, ""); cases.ErrorFields(err)["q"] == "" {
				t.Errorf("search of %d characters: %v, want 400 naming q", len(q), err)
			}
		}
	})
}

// Duplicates: the other cases, open or closed, naming the same account or
// the same reference, with what they share; never the case itself.
func TestDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		var made []*cases.Case
		for _, name := range []string{"subpoena.json", "subpoena.json", "pen_register.json"} {
			c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, name), Decision: decision(cases.OutcomeApprove)})
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, c)
		}
		if _, err := db.CloseCase(ctx, intake, made[0].Number, "answered"); err != nil {
			t.Fatal(err)
		}
		rel, err := db.RelatedCases(ctx, made[1])
		if err != nil || len(rel) != 1 || rel[0].ID != made[0].ID || len(rel[0].Shares) != 2 || rel[0].Status != cases.StatusClosed {
			t.Fatalf("related of the second subpoena: %+v %v", rel, err)
		}
		dup, err := db.Duplicates(ctx, []string{"+14155550123", "+19999999999"}, "no such reference", 0)
		if err != nil || len(dup) != 1 || dup[0].ID != made[2].ID || dup[0].Shares[0] != "+14155550123" {
			t.Errorf("duplicates at intake: %+v %v", dup, err)
		}
		if rel, _ := db.RelatedCases(ctx, made[2]); len(rel) != 0 {
			t.Errorf("the pen register has no duplicate, got %+v", rel)
		}
	})
}
