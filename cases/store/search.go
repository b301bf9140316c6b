package store

import (
	"context"
	"strings"
	"unicode"

	"github.com/jmoiron/sqlx"
	"github.com/nyaruka/phonenumbers"

	"envelope/cases"
)

// Search that finds what people type (issue 16). Words are matched
// anywhere in a case's terms through trigram indexes (trigram.go); words
// under three characters by prefix through the (term, case_id) key, so a
// search costs index lookups whatever the number of cases. What people type is made to meet
// the terms: a phone number in any format becomes its digits, and a case
// is indexed by the parts of its reference, the national form of its phone
// targets and the words of its notes.

// Search limits: beyond them the query is refused (400), not run: each
// word is one more range scan and intersection.
const (
	MaxQueryLen   = 200
	MaxQueryWords = 8
)

// queryWords splits a free-text query into the words the index is searched
// by, lowercased, refusing a query over the limits.
func queryWords(q string) ([]string, error) {
	q = strings.TrimSpace(q)
	if len(q) > MaxQueryLen {
		return nil, cases.Invalid(map[string]string{"q": "is longer than 200 characters"})
	}
	words := strings.Fields(strings.ToLower(q))
	if len(words) > MaxQueryWords {
		return nil, cases.Invalid(map[string]string{"q": "has more than 8 words"})
	}
	return words, nil
}

// termCond is the condition that a case has a term starting with w.
const termCond = "id IN (SELECT case_id FROM case_terms WHERE term >= ? AND term < ?)"

// typedPhone returns the digits of a query that reads as a phone number
// typed with punctuation: phone characters only, and a leading +, a
// parenthesis, spaces between digit groups or nine digits or more. A short
// dashed run such as "2026-0117" (part of a reference) stays words.
func typedPhone(q string) (string, bool) {
	d, ok := phoneDigits(q)
	if !ok || d == strings.TrimSpace(q) {
		return "", false
	}
	return d, strings.ContainsAny(q, "+( ") || len(d) >= 9
}

// phoneDigits returns the digits of s when s reads as a phone number: only
// digits, spaces and + - ( ) . with at least six digits.
func phoneDigits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsDigit(r) && r < 0x80:
			b.WriteRune(r)
		case strings.ContainsRune(" +-().", r):
		default:
			return "", false
		}
	}
	return b.String(), b.Len() >= 6
}

// extraTerms are the terms searchTerms adds for issue 16: the parts of the
// reference ("gj-2026-4471" is found by "4471") and the national number of
// each phone target ("+14155550123" by "4155550123").
func extraTerms(req *cases.Request) []string {
	var out []string
	for _, part := range strings.FieldsFunc(req.Process.Reference, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		out = append(out, part)
	}
	for _, t := range req.Targets {
		if t.Kind != cases.TargetPhone {
			continue
		}
		if n, err := phonenumbers.Parse(t.Value, ""); err == nil {
			out = append(out, phonenumbers.GetNationalSignificantNumber(n))
		}
	}
	return out
}

// maxNoteTerms bounds the words a note adds to the index.
const maxNoteTerms = 200

// indexNote adds the words of a note to its case's search terms.
func (db *DB) indexNote(ctx context.Context, tx *sqlx.Tx, caseID int64, body string) error {
	seen := map[string]bool{}
	var words []string
	for _, w := range strings.FieldsFunc(strings.ToLower(body), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '+'
	}) {
		if len(w) < 2 || len(w) > 200 || seen[w] {
			continue
		}
		if seen[w] = true; len(seen) > maxNoteTerms {
			break
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO case_terms (term, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING"), w, caseID); err != nil {
			return err
		}
		words = append(words, w)
	}
	return db.indexText(ctx, tx, caseID, words)
}
