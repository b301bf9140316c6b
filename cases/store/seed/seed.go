// Package seed fills an empty database with many cases fast, for load
// tests and benchmarks (`envelope loadtest seed`, the bench module):
// plain SQL in large transactions on SQLite, COPY on PostgreSQL. The point
// is a realistic table and its indexes, not the intake path, so nothing
// here is audited. The cases have their search terms (case_terms) but not
// the infix search's text and trigrams (issue 16: 30 rows a case, which
// would make a million-case SQLite seed take many minutes), so search
// pages are not part of a seeded load test.
package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"envelope/cases"
	"envelope/cases/store"
)

// Cases writes n cases ending at now: received a minute apart up to now,
// due 14 days after; a sixth still received and a sixth approved, so the
// dashboard's deadline panels have overdue, due-today and upcoming cases;
// six cases in 1,000 assigned to assignee (a queue). Both engines get the
// same rows for the same n and now.
func Cases(ctx context.Context, db *store.DB, n int, now time.Time, assignee string) error {
	agency, err := agencies(ctx, db)
	if err != nil {
		return err
	}
	g := generator{agency: agency, assignee: assignee, base: now.Truncate(time.Minute).Add(-time.Duration(n) * time.Minute)}
	g.decision, _ = json.Marshal(&cases.Decision{Outcome: cases.OutcomeApprove, PolicyVersion: "sha256:loadtest", DecidedAt: g.base,
		Allowed: []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "US-SUBPOENA"}}, Denied: []cases.Denied{}, Findings: []cases.Finding{}, UserNotice: cases.NoticeNotify})
	if db.Dialect == store.Postgres {
		err = copyCases(ctx, db, n, &g)
	} else {
		err = insertCases(ctx, db, n, &g)
	}
	if err != nil {
		return err
	}
	_, err = db.Writer().ExecContext(ctx, "ANALYZE")
	return err
}

var (
	countries = []string{"US", "US", "US", "GB", "BR", "IN", "DE", "FR", "JP", "AU"}
	statuses  = []cases.Status{cases.StatusClosed, cases.StatusClosed, cases.StatusProduced, cases.StatusRejected, cases.StatusApproved, cases.StatusReceived}
)

func agencies(ctx context.Context, db *store.DB) (map[string]int64, error) {
	w := db.Writer()
	agency := map[string]int64{}
	for _, c := range countries {
		if _, ok := agency[c]; ok {
			continue
		}
		var id int64
		if err := w.GetContext(ctx, &id, w.Rebind("INSERT INTO agencies (name, country, verified_domains) VALUES (?, ?, '[]') RETURNING id"), "Agency "+c, c); err != nil {
			return nil, err
		}
		agency[c] = id
	}
	return agency, nil
}

// generator makes case i's row and its search terms.
type generator struct {
	agency   map[string]int64
	assignee string
	base     time.Time
	decision []byte
}

// caseRow is one case's columns, in the order of caseColumns.
func (g *generator) caseRow(i int) (row []any, terms []string) {
	id := int64(i + 1)
	country := countries[i%len(countries)]
	proc := cases.ProcessTypes[i%len(cases.ProcessTypes)]
	status := statuses[i%len(statuses)]
	received := g.base.Add(time.Duration(i) * time.Minute)
	due := received.Add(14 * 24 * time.Hour)
	target := fmt.Sprintf("+1415555%04d", i%10000)
	assignee := ""
	if i%1000 < 6 {
		assignee = g.assignee
	}
	req := cases.Request{ReceivedAt: received, Agency: cases.Agency{Name: "Agency " + country, Country: country, VerifiedDomains: []string{}},
		Process: cases.Process{Type: proc, Reference: fmt.Sprintf("REF-%d", i)}, DueAt: &due,
		Targets: []cases.Target{{Kind: cases.TargetPhone, Value: target}}, Categories: []cases.Category{cases.BasicSubscriberInfo}}
	reqJSON, _ := json.Marshal(req)
	number := cases.CaseNumber(received, id)
	row = []any{id, number, string(status), g.agency[country], country, string(proc), req.Process.Reference, received, due, 1,
		string(reqJSON), string(g.decision), "approve", "sha256:loadtest", status == cases.StatusProduced, assignee, "loadtest", received, received}
	return row, []string{strings.ToLower(number), strings.ToLower(req.Process.Reference), target, target[1:], "agency", strings.ToLower(country)}
}

var caseColumns = []string{"id", "number", "status", "agency_id", "agency_country", "process_type", "reference",
	"received_at", "due_at", "target_count", "request_json", "decision_json", "outcome", "policy_version", "produced", "assignee",
	"created_by", "created_at", "updated_at"}

// insertCases writes the rows on SQLite in transactions of 50,000 cases.
func insertCases(ctx context.Context, db *store.DB, n int, g *generator) error {
	w := db.Writer()
	const batch = 50_000
	insert := "INSERT INTO cases (" + strings.Join(caseColumns, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(caseColumns)-1) + ")"
	for from := 0; from < n; from += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		tx, err := w.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		err = func() error {
			stmt, err := tx.PrepareContext(ctx, insert)
			if err != nil {
				return err
			}
			defer stmt.Close()
			terms, err := tx.PrepareContext(ctx, "INSERT INTO case_terms (term, case_id) VALUES (?, ?)")
			if err != nil {
				return err
			}
			defer terms.Close()
			for i := from; i < min(from+batch, n); i++ {
				row, words := g.caseRow(i)
				if _, err := stmt.ExecContext(ctx, row...); err != nil {
					return err
				}
				for _, term := range words {
					if _, err := terms.ExecContext(ctx, term, row[0]); err != nil {
						return err
					}
				}
			}
			return nil
		}()
		if err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// copyCases streams the rows to PostgreSQL with COPY (a million
// single-row inserts take many times longer), the cases first and then
// their terms, and moves the identity sequence past the IDs it wrote so
// cases logged afterwards do not collide with them.
func copyCases(ctx context.Context, db *store.DB, n int, g *generator) error {
	conn, err := db.Writer().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		i := 0
		if _, err := pc.CopyFrom(ctx, pgx.Identifier{"cases"}, caseColumns, pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			row, _ := g.caseRow(i)
			i++
			return row, nil
		})); err != nil {
			return fmt.Errorf("copy cases: %w", err)
		}
		i = 0
		var words []string
		var id int64
		if _, err := pc.CopyFrom(ctx, pgx.Identifier{"case_terms"}, []string{"term", "case_id"}, pgx.CopyFromFunc(func() ([]any, error) {
			for len(words) == 0 {
				if i == n {
					return nil, nil
				}
				var row []any
				row, words = g.caseRow(i)
				id = row[0].(int64)
				i++
			}
			w := words[0]
			words = words[1:]
			return []any{w, id}, nil
		})); err != nil {
			return fmt.Errorf("copy case terms: %w", err)
		}
		_, err := pc.Exec(ctx, "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
		return err
	})
}
