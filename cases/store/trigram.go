package store

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/nyaruka/phonenumbers"
)

// Infix search (issue 16). Each case has its search text in case_search
// (its terms, lowercased, space-separated); a query word is found anywhere
// in it, "4471" in "gj-2026-4471", "5550123" in "+14155550123". Neither
// engine scans: PostgreSQL answers body LIKE '%w%' from pg_trgm's GIN
// index; SQLite (no FTS5 in this build of go-sqlite3) intersects the
// postings of the word's last trigrams in case_trigrams and confirms
// with LIKE.
// Words under three characters have no trigram and keep the prefix match
// on case_terms.

// trigrams returns the distinct three-rune substrings of s that hold no
// space (a query word never does).
func trigrams(s string) []string {
	rs := []rune(s)
	seen := map[string]bool{}
	var out []string
	for i := 0; i+3 <= len(rs); i++ {
		t := string(rs[i : i+3])
		if strings.ContainsRune(t, ' ') || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// indexText appends words (lowercased terms) to the search text of a case,
// and on SQLite their trigrams to its postings, in the caller's
// transaction: the text is never out of step with the case.
func (db *DB) indexText(ctx context.Context, tx *sqlx.Tx, caseID int64, words []string) error {
	if len(words) == 0 {
		return nil
	}
	text := " " + strings.Join(words, " ") + " "
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO case_search (case_id, body) VALUES (?, ?)
		ON CONFLICT (case_id) DO UPDATE SET body = case_search.body || excluded.body`), caseID, text); err != nil {
		return err
	}
	if db.Dialect == Postgres {
		return nil
	}
	for _, t := range trigrams(text) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO case_trigrams (trigram, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING", t, caseID); err != nil {
			return err
		}
	}
	return nil
}

// likeEscaper makes a word a literal LIKE pattern (escape character \).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// wordCond is the condition that a case's search text contains w.
func (db *DB) wordCond(w string) (string, []any) {
	if utf8.RuneCountInString(w) < 3 {
		return termCond, []any{w, w + string(utf8.MaxRune)}
	}
	like := "%" + likeEscaper.Replace(w) + "%"
	// Both engines ask their index for the word's last four characters
	// only, two trigrams, and confirm the whole word with LIKE: the
	// postings of every trigram are intersected, and a number's leading
	// digits ("+1415555…") are in a great many cases (80 ms against 3 ms
	// on PostgreSQL at a million). On PostgreSQL the whole word is a
	// filter the index cannot take ((body || '')).
	rs := []rune(w)
	tail := w
	if len(rs) > 4 {
		tail = string(rs[len(rs)-4:])
	}
	if db.Dialect == Postgres {
		if tail == w {
			return `id IN (SELECT case_id FROM case_search WHERE body LIKE ? ESCAPE '\')`, []any{like}
		}
		return `id IN (SELECT case_id FROM case_search WHERE body LIKE ? ESCAPE '\' AND (body || '') LIKE ? ESCAPE '\')`,
			[]any{"%" + likeEscaper.Replace(tail) + "%", like}
	}
	ts := trigrams(tail)
	parts := make([]string, len(ts))
	args := make([]any, 0, len(ts)+1)
	for i, t := range ts {
		parts[i] = "SELECT case_id FROM case_trigrams WHERE trigram = ?"
		args = append(args, t)
	}
	args = append(args, like)
	return "id IN (SELECT s.case_id FROM case_search s WHERE s.case_id IN (" + strings.Join(parts, " INTERSECT ") +
		`) AND s.body LIKE ? ESCAPE '\')`, args
}

// queryClause is the condition of a free-text query: every word is in the
// case's search text. A query typed as a phone number ("+1 (415)
// 555-0123", "415 555 0123", "07700 900123") is one word, its digits as
// searchDigits makes them, so it is found whichever way it was typed.
func (db *DB) queryClause(q, country string) (string, []any) {
	words, _ := queryWords(q) // checked by listRows
	if len(words) == 0 {
		return "", nil
	}
	if d, ok := typedPhone(q); ok {
		words = []string{searchDigits(d, country)}
	} else if d, ok := phoneDigits(q); ok && d == strings.TrimSpace(q) {
		words = []string{searchDigits(d, country)}
	}
	conds := make([]string, len(words))
	var args []any
	for i, w := range words {
		var a []any
		conds[i], a = db.wordCond(w)
		args = append(args, a...)
	}
	return strings.Join(conds, " AND "), args
}

// searchDigits is the part of a typed number's digits that the stored
// E.164 form contains: with a country (the list's country filter), the
// national significant number; otherwise, for nine digits or more, the digits without their
// leading zeros, which are a national trunk prefix ("07700 900123" is
// +44 7700 900123) or an international one ("0044 …").
func searchDigits(d, country string) string {
	if len(d) < 9 {
		return d // too short for a national number: part of one, or of a reference
	}
	if country != "" && strings.HasPrefix(d, "0") {
		if n, err := phonenumbers.Parse(d, strings.ToUpper(country)); err == nil && phonenumbers.IsValidNumber(n) {
			return phonenumbers.GetNationalSignificantNumber(n)
		}
	}
	if t := strings.TrimLeft(d, "0"); len(t) >= 3 {
		return t
	}
	return d
}
