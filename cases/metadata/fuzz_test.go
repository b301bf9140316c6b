package metadata

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// fuzzMarker rides in members that are no field of any record kind; it
// must never reach a table.
const fuzzMarker = "FUZZ-UNKNOWN-MEMBER-c41d"

// withUnknownMembers adds members no record kind has (a body, nested
// content) at the front of every line that opens an object, so whatever
// the fuzzer makes of the rest, those members travel with it.
func withUnknownMembers(data []byte) []byte {
	extra := `"body":"` + fuzzMarker + `","content":{"text":["` + fuzzMarker + `"]}`
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		trimmed := bytes.TrimLeft(line, " \t\r")
		if len(trimmed) == 0 || trimmed[0] != '{' {
			continue
		}
		rest := trimmed[1:]
		sep := ","
		if r := bytes.TrimLeft(rest, " \t\r"); len(r) > 0 && r[0] == '}' {
			sep = ""
		}
		lines[i] = append([]byte("{"+extra+sep), rest...)
	}
	return bytes.Join(lines, []byte("\n"))
}

// FuzzImportNDJSON feeds arbitrary NDJSON to the metadata import, on SQLite
// and (where configured) PostgreSQL. The import never panics and never
// fails on a line (only a database failure may stop it); every line it
// rejects is reported with its own number, exactly the lines the decoder
// refuses; and no member outside the record kinds' fields is ever stored.
func FuzzImportNDJSON(f *testing.F) {
	dbs := []*store.DB{storetest.SQLite(f)}
	if os.Getenv(storetest.PostgresEnv) != "" {
		dbs = append(dbs, storetest.Postgres(f))
	}
	stores := make([]*Store, len(dbs))
	for i, db := range dbs {
		stores[i] = New(db)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte(fuzzMarker)) {
			return // the marker must come only from withUnknownMembers
		}
		data = withUnknownMembers(data)
		want := decodeLines(data)
		for i, s := range stores {
			rejected := map[int64]string{}
			var order []int64
			sum, err := s.Import(ctx, bytes.NewReader(data), ImportOptions{BatchSize: 3, OnError: func(e *LineError) {
				rejected[e.Line] = e.Error()
				order = append(order, e.Line)
			}})
			if err != nil {
				t.Fatalf("%s: import failed instead of rejecting a line: %v\n%q", dbs[i].Dialect, err, data)
			}
			if sum.Read != sum.Stored+sum.Rejected || sum.Rejected != int64(len(rejected)) || int64(len(order)) != sum.Rejected {
				t.Fatalf("%s: summary %+v does not add up (%d lines reported)", dbs[i].Dialect, sum, len(order))
			}
			for n, decodeErr := range want {
				msg, isRejected := rejected[n]
				switch {
				case decodeErr != nil && !isRejected:
					t.Fatalf("%s: line %d (%v) was not rejected", dbs[i].Dialect, n, decodeErr)
				case decodeErr == nil && isRejected:
					t.Fatalf("%s: good line %d rejected: %s", dbs[i].Dialect, n, msg)
				case isRejected && !strings.HasPrefix(msg, "line "+strconv.FormatInt(n, 10)+": "):
					t.Fatalf("%s: rejection %q does not name line %d", dbs[i].Dialect, msg, n)
				}
			}
			if int64(len(want)) != sum.Read {
				t.Fatalf("%s: read %d lines, the input has %d", dbs[i].Dialect, sum.Read, len(want))
			}
			if where := tablesHolding(t, dbs[i], fuzzMarker); where != "" {
				t.Fatalf("%s: a member outside the record kinds was stored in %s\n%q", dbs[i].Dialect, where, data)
			}
			emptyTables(t, dbs[i])
		}
	})
}

// decodeLines decodes each non-blank line on its own, numbering lines as
// an editor does: the verdict Import must agree with.
func decodeLines(data []byte) map[int64]error {
	out := map[int64]error{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		_, err := Decode(line)
		out[int64(i+1)] = err
	}
	return out
}

// tablesHolding names a metadata table with a row that holds s anywhere,
// or "".
func tablesHolding(t *testing.T, db *store.DB, s string) string {
	t.Helper()
	for _, k := range Kinds {
		rows, err := db.Reader().Queryx("SELECT * FROM " + tables[k].name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				if strings.Contains(fmt.Sprint(v), s) {
					rows.Close()
					return tables[k].name
				}
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return ""
}

// emptyTables clears the metadata tables between fuzz inputs, so each
// input is checked alone and the tables stay small.
func emptyTables(t *testing.T, db *store.DB) {
	t.Helper()
	for _, k := range Kinds {
		if _, err := db.Writer().Exec("DELETE FROM " + tables[k].name); err != nil {
			t.Fatal(err)
		}
	}
}
