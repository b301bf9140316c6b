package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// benchPGName is the PostgreSQL database of a million cases the
// benchmarks keep between runs, named by the schema version it was built
// at: a new migration builds a new one.
func benchPGName(b testing.TB) string { return "envelope_bench_1m_" + schemaTag(b) }

// benchPG returns a PostgreSQL store of a million cases like benchDB's,
// built once with COPY (a million single-row inserts take too long to
// rebuild for every run) and kept on the server.
func benchPG(b *testing.B) *store.DB {
	b.Helper()
	admin := os.Getenv(storetest.PostgresEnv)
	if admin == "" {
		b.Skipf("%s not set", storetest.PostgresEnv)
	}
	ctx := context.Background()
	name := benchPGName(b)
	adm, err := sql.Open("pgx", admin)
	if err != nil {
		b.Fatal(err)
	}
	defer adm.Close()
	u, _ := url.Parse(admin)
	dsn := func(name string) string { v := *u; v.Path = "/" + name; return v.String() }
	var exists bool
	if err := adm.QueryRow("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		tmp := name + "_tmp"
		adm.Exec("DROP DATABASE IF EXISTS " + tmp + " WITH (FORCE)")
		if _, err := adm.Exec("CREATE DATABASE " + tmp); err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(ctx, dsn(tmp)) // migrates
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		if err := seedMillionPG(ctx, dsn(tmp)); err != nil {
			b.Fatal(err)
		}
		if _, err := adm.Exec("ALTER DATABASE " + tmp + " RENAME TO " + name); err != nil {
			b.Fatal(err)
		}
	}
	db, err := store.Open(ctx, dsn(name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// seedMillionPG writes the cases of seedMillion with COPY: the case rows,
// their targets and their search text; the trigram index is built after
// the copy, as a restore would.
func seedMillionPG(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	countries := []string{"US", "US", "US", "GB", "BR", "IN", "DE", "FR", "JP", "AU"}
	statuses := []cases.Status{cases.StatusClosed, cases.StatusClosed, cases.StatusProduced, cases.StatusRejected, cases.StatusApproved, cases.StatusReceived}
	if _, err := conn.Exec(ctx, "INSERT INTO agencies (name, country) VALUES ('Agency US', 'US')"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "DROP INDEX case_search_trgm"); err != nil {
		return err
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	decJSON, _ := json.Marshal(decision(cases.OutcomeApprove))
	// row makes case i's rows of the three tables; each COPY streams them.
	row := func(i int) (caseRow, targetRow, searchRow []any) {
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
		number := cases.CaseNumber(received, id)
		words := []string{strings.ToLower(number), strings.ToLower(req.Process.Reference), target, target[1:], "agency", strings.ToLower(country),
			"ref", fmt.Sprint(i), target[2:]}
		return []any{id, number, string(status), int64(1), country, string(proc), req.Process.Reference,
				received, due, 1, string(reqJSON), string(decJSON), "approve", "sha256:bench", status == cases.StatusProduced, "bench", received, received},
			[]any{id, 0, string(cases.TargetPhone), target},
			[]any{id, " " + strings.Join(words, " ") + " "}
	}
	for k, c := range []struct {
		table string
		cols  []string
	}{
		{"cases", []string{"id", "number", "status", "agency_id", "agency_country", "process_type", "reference", "received_at", "due_at",
			"target_count", "request_json", "decision_json", "outcome", "policy_version", "produced", "created_by", "created_at", "updated_at"}},
		{"case_targets", []string{"case_id", "position", "kind", "value"}},
		{"case_search", []string{"case_id", "body"}},
	} {
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == benchCases {
				return nil, nil
			}
			r := [3][]any{}
			r[0], r[1], r[2] = row(i)
			i++
			return r[k], nil
		})
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, src); err != nil {
			return fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	for _, q := range []string{"CREATE INDEX case_search_trgm ON case_search USING gin (body gin_trgm_ops)", "ANALYZE"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkSearchPG and BenchmarkDuplicateLookupPG are BenchmarkSearch and
// BenchmarkDuplicateLookup on PostgreSQL.
func BenchmarkSearchPG(b *testing.B) { searchBench(b, benchPG(b)) }

func BenchmarkDuplicateLookupPG(b *testing.B) { duplicateBench(b, benchPG(b)) }
