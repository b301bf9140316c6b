package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// BenchmarkCreateCase logs one case per op through the store: the insert,
// its targets, the agency lookup and two audit events, in one transaction
// committed with a full fsync.
func BenchmarkCreateCase(b *testing.B) {
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	raw, _ := os.ReadFile("../../testdata/requests/pen_register.json")
	req, err := cases.ParseRequest(raw)
	if err != nil {
		b.Fatal(err)
	}
	dec := decision(cases.OutcomePartial)
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.CreateCase(context.Background(), "bench", store.NewCase{Request: req, Decision: dec}); err != nil {
			b.Fatal(err)
		}
	}
}

const benchCases = 1_000_000

// schemaTag names the newest migration of this build ("00019"): the cached
// benchmark databases are named by it, so a new migration builds new ones
// (goose refuses a database that lacks an older migration it has).
func schemaTag(b testing.TB) string {
	files, err := os.ReadDir(filepath.Join("migrations", "postgres"))
	if err != nil || len(files) == 0 {
		b.Fatalf("migrations: %v", err)
	}
	name := files[len(files)-1].Name()
	return name[:strings.IndexByte(name, '_')]
}

// benchDB returns a SQLite database holding a million cases, built once and
// kept in the temporary folder, since building it takes longer than the
// benchmarks it serves.
func benchDB(b *testing.B) *store.DB {
	b.Helper()
	path := filepath.Join(os.TempDir(), "envelope-bench-1m-v4-"+schemaTag(b)+".db")
	if _, err := os.Stat(path); err != nil {
		if err := seedMillion(path + ".tmp"); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			b.Fatal(err)
		}
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// seedMillion inserts the cases with plain SQL in large transactions: the
// point is a realistic table and indexes, not the intake path.
func seedMillion(path string) error {
	ctx := context.Background()
	os.Remove(path)
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	w := db.Writer()
	countries := []string{"US", "US", "US", "GB", "BR", "IN", "DE", "FR", "JP", "AU"}
	statuses := []cases.Status{cases.StatusClosed, cases.StatusClosed, cases.StatusProduced, cases.StatusRejected, cases.StatusApproved, cases.StatusReceived}
	for i, c := range countries[2:] {
		if _, err := w.Exec("INSERT INTO agencies (name, country) VALUES (?, ?)", "Agency "+c, c); err != nil {
			return fmt.Errorf("agency %d: %w", i, err)
		}
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < benchCases; start += 50_000 {
		tx, err := w.Beginx()
		if err != nil {
			return err
		}
		stmt, err := tx.Preparex(`INSERT INTO cases (id, number, status, agency_id, agency_country, process_type, reference,
			received_at, due_at, target_count, request_json, decision_json, outcome, policy_version, produced,
			created_by, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, 1, ?, ?, 'approve', 'sha256:bench', ?, 'bench', ?, ?)`)
		if err != nil {
			return err
		}
		terms, err := tx.Preparex("INSERT INTO case_terms (term, case_id) VALUES (?, ?)")
		if err != nil {
			return err
		}
		body, err := tx.Preparex("INSERT INTO case_search (case_id, body) VALUES (?, ?)")
		if err != nil {
			return err
		}
		grams, err := tx.Preparex("INSERT INTO case_trigrams (trigram, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
		if err != nil {
			return err
		}
		for i := start; i < start+50_000; i++ {
			id := int64(i + 1)
			country := countries[i%len(countries)]
			proc := cases.ProcessTypes[i%len(cases.ProcessTypes)]
			status := statuses[i%len(statuses)]
			received := base.Add(time.Duration(i) * time.Minute)
			due := received.Add(14 * 24 * time.Hour)
			target := fmt.Sprintf("+1415555%04d", i%10000)
			req := cases.Request{ReceivedAt: received, Agency: cases.Agency{Name: "Agency " + country, Country: country},
				Process: cases.Process{Type: proc, Reference: fmt.Sprintf("REF-%d", i)}, DueAt: &due,
				Targets: []cases.Target{{Kind: cases.TargetPhone, Value: target}}, Categories: []cases.Category{cases.BasicSubscriberInfo}}
			reqJSON, _ := json.Marshal(req)
			decJSON, _ := json.Marshal(decision(cases.OutcomeApprove))
			number := cases.CaseNumber(received, id)
			if _, err := stmt.Exec(id, number, status, country, proc, req.Process.Reference, received, due, string(reqJSON), string(decJSON),
				status == cases.StatusProduced, received, received); err != nil {
				return err
			}
			// As searchTerms makes them: with the reference's parts and the
			// phone's national number (issue 16).
			words := []string{strings.ToLower(number), strings.ToLower(req.Process.Reference), target, target[1:], "agency", strings.ToLower(country),
				"ref", strconv.Itoa(i), target[2:]}
			for _, term := range words {
				if _, err := terms.Exec(term, id); err != nil {
					return err
				}
			}
			// The infix search's text and trigrams, as indexText writes them.
			text := " " + strings.Join(words, " ") + " "
			if _, err := body.Exec(id, text); err != nil {
				return err
			}
			for _, g := range store.Trigrams(text) {
				if _, err := grams.Exec(g, id); err != nil {
					return err
				}
			}
		}
		stmt.Close()
		terms.Close()
		body.Close()
		grams.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	_, err = w.Exec("ANALYZE")
	return err
}

// BenchmarkListCases lists one page of 50 out of a million cases, with
// the filters the portal uses most.
func BenchmarkListCases(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	due := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	filters := map[string]cases.CaseFilter{
		"status":         {Status: cases.StatusReceived},
		"country+proc":   {Country: "BR", Process: cases.ForeignCourtOrder},
		"status+deep":    {Status: cases.StatusClosed, After: 500_000},
		"due_before":     {DueBefore: &due, Status: cases.StatusApproved},
		"text:target":    {Query: "+14155550042"},
		"text:prefix":    {Query: "+1415555004"},
		"text:reference": {Query: "ref-999999"},
	}
	for name, f := range filters {
		f.Limit = 50
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := db.ListCases(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Cases) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}

// BenchmarkSearch is what people type into the search box, over a million
// cases: a part of a reference, a phone number's national digits, and the
// same number typed with punctuation (issue 16).
func BenchmarkSearch(b *testing.B) { searchBench(b, benchDB(b)) }

func searchBench(b *testing.B, db *store.DB) {
	ctx := context.Background()
	for name, q := range map[string]string{
		"reference-part": "999999",
		"reference-mid":  "f-12345",
		"phone-national": "4155550042",
		"phone-typed":    "+1 (415) 555-0042",
		"phone-part":     "5550042",
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				page, err := db.ListSummaries(ctx, cases.CaseFilter{Query: q, Limit: 50}, "", false, "")
				if err != nil || len(page.Cases) == 0 {
					b.Fatalf("%q: %v %v", q, page, err)
				}
			}
		})
	}
}

// BenchmarkDuplicateLookup is the intake's warning over a million cases:
// the cases naming the request's account or its reference.
func BenchmarkDuplicateLookup(b *testing.B) { duplicateBench(b, benchDB(b)) }

func duplicateBench(b *testing.B, db *store.DB) {
	ctx := context.Background()
	for b.Loop() {
		rel, err := db.Duplicates(ctx, []string{"+14155550042"}, "REF-999999", 0)
		if err != nil || len(rel) == 0 {
			b.Fatalf("%v %v", rel, err)
		}
	}
}
