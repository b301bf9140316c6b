package metadata

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// marker is planted in every place content could hide in an import; it
// must be nowhere in the database afterwards.
const marker = "ZZ-CONTENT-MARKER-7f3a9c"

// withBodies is a generated data set in which every message carries a body
// (plain, nested and escaped), plus lines that try other ways in.
func withBodies(t *testing.T, accounts int) (data []byte, messages int) {
	t.Helper()
	var gen bytes.Buffer
	if _, err := Generate(&gen, GenerateOptions{Accounts: accounts, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(&gen)
	for i := 0; sc.Scan(); i++ {
		line := sc.Text()
		if strings.Contains(line, `"kind":"message"`) {
			messages++
			switch i % 3 {
			case 0:
				line = strings.TrimSuffix(line, "}") + `,"body":"` + marker + ` see you at 6"}`
			case 1:
				line = `{"body":{"text":"` + marker + `","media":["` + marker + `"]},` + strings.TrimPrefix(line, "{")
			case 2: // the marker escaped, so only a decoder would reveal it
				line = strings.TrimSuffix(line, "}") + `,"b\u006fdy":"\u005a` + marker[1:] + `"}`
			}
		}
		out.WriteString(line + "\n")
	}
	// A field named like the marker, and a kind that does not exist.
	out.WriteString(`{"kind":"contact","account":"+14155550123","contact":"+447911123456","` + marker + `":"x"}` + "\n")
	out.WriteString(`{"kind":"message_content","account":"+14155550123","body":"` + marker + `"}` + "\n")
	return out.Bytes(), messages
}

// Importing messages with bodies stores the messages and never the bodies:
// the marker is not in the SQLite file's bytes (nor its WAL), nor in any
// text column on PostgreSQL.
func TestImportNeverStoresContent(t *testing.T) {
	data, messages := withBodies(t, 60)
	if !bytes.Contains(data, []byte(marker)) {
		t.Fatal("the input holds no marker: the test would prove nothing")
	}
	check := func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var rejected []int64
		sum, err := f.s.Import(ctx, bytes.NewReader(data), ImportOptions{BatchSize: 97, OnError: func(e *LineError) {
			rejected = append(rejected, e.Line)
		}})
		if err != nil {
			t.Fatal(err)
		}
		lines := int64(bytes.Count(data, []byte("\n")))
		if sum.Read != lines || sum.Rejected != 1 || sum.Stored != lines-1 || len(rejected) != 1 || rejected[0] != lines {
			t.Errorf("summary %+v, rejected lines %v; want %d read, 1 rejected (line %d)", sum, rejected, lines, lines)
		}
		var stored int
		if err := db.Reader().Get(&stored, "SELECT COUNT(*) FROM meta_messages"); err != nil || stored != messages {
			t.Errorf("%d messages stored, want %d (%v)", stored, messages, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		db, err := store.Open(ctx, filepath.Join(dir, "envelope.db"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "envelope.db*"))
		if len(files) == 0 {
			t.Fatal("no database file")
		}
		var all []byte
		for _, file := range files { // the database, and any -wal or -shm left
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		// A positive control: the scan does find what is stored (the
		// device model names), so its silence about the marker means
		// something.
		if !bytes.Contains(all, []byte("Galaxy")) && !bytes.Contains(all, []byte("iPhone")) {
			t.Fatal("the scan cannot see stored text")
		}
		for _, needle := range []string{marker, marker[4:], "see you at 6"} {
			if bytes.Contains(all, []byte(needle)) {
				t.Fatalf("the database files hold %q", needle)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		db := storetest.Postgres(t)
		check(t, db)
		if n := columnsHolding(t, db, marker[4:]); len(n) > 0 {
			t.Fatalf("the marker is stored in %v", n)
		}
		if n := columnsHolding(t, db, "iPhone"); len(n) == 0 {
			t.Fatal("the scan cannot see stored text")
		}
	})
}

// columnsHolding lists the text columns of every table that hold needle.
func columnsHolding(t *testing.T, db *store.DB, needle string) []string {
	t.Helper()
	var cols []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
	}
	if err := db.Reader().Select(&cols, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'bytea')`); err != nil || len(cols) < 20 {
		t.Fatalf("list columns: %d, %v", len(cols), err)
	}
	var hits []string
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM %q WHERE position($1 in %q::text) > 0`, c.Table, c.Column)
		if err := db.Reader().Get(&n, q, needle); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n > 0 {
			hits = append(hits, c.Table+"."+c.Column)
		}
	}
	return hits
}

// Bad lines are reported with their line numbers, counted, and do not stop
// the import; blank lines are not lines of data.
func TestImportReportsLineErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		input := strings.Join([]string{
			`{"kind":"device","account":"+14155550123","device_id":"dev_1","os":"iOS"}`,                             // 1
			`{"kind":"device","account":"+14155550123"}`,                                                            // 2: no device_id
			`{"kind":"ip_session","account":"+14155550123","at":"2026-11-20T10:00:00Z","ip":"10.0.0.1","port":443}`, // 3
			`{"kind":"ip_session","account":"+14155550123","at":"2026-11-20T10:00:00Z","ip":"10.0.0.999"}`,          // 4: bad IP
			``, // 5: blank
			`{"kind":"contact","account":"+14155550123","contact":"+447911123456"`,                             // 6: truncated
			`{"kind":"profile","account":"+14155550123","about":"` + strings.Repeat("x", MaxRecordLine) + `"}`, // 7: too long
			`{"kind":"contact","account":"+14155550123","contact":"+447911123456"}`,                            // 8, no newline at the end
		}, "\n")
		var errs []string
		sum, err := f.s.Import(ctx, strings.NewReader(input), ImportOptions{BatchSize: 2, OnError: func(e *LineError) {
			errs = append(errs, e.Error())
		}})
		if err != nil {
			t.Fatal(err)
		}
		if sum != (ImportSummary{Read: 7, Stored: 3, Rejected: 4}) {
			t.Fatalf("summary %+v", sum)
		}
		want := []string{"line 2: device_id: is required", `line 4: ip: "10.0.0.999" is not an IP address`,
			"line 6: truncated JSON", "line 7: line too long"}
		if len(errs) != len(want) {
			t.Fatalf("errors %q", errs)
		}
		for i := range want {
			if !strings.HasPrefix(errs[i], want[i]) {
				t.Errorf("error %d: %q, want %q…", i, errs[i], want[i])
			}
		}
		recs, err := f.s.Records(ctx, Query{Category: cases.Contacts, Accounts: []string{"+14155550123"}})
		if err != nil || len(recs) != 1 {
			t.Fatalf("the line after the long one was lost: %v %v", recs, err)
		}
	})
}

// Importing a file twice stores each record once; a changed snapshot
// record replaces the stored one.
func TestImportIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var gen bytes.Buffer
		stats, err := Generate(&gen, GenerateOptions{Accounts: 40, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		counts := func() map[Kind]int64 {
			n := map[Kind]int64{}
			for _, k := range Kinds {
				var c int64
				if err := db.Reader().Get(&c, "SELECT COUNT(*) FROM "+tables[k].name); err != nil {
					t.Fatal(err)
				}
				n[k] = c
			}
			return n
		}
		for round := 0; round < 2; round++ {
			sum, err := f.s.Import(ctx, bytes.NewReader(gen.Bytes()), ImportOptions{})
			if err != nil || sum.Rejected != 0 || sum.Stored != stats.Lines {
				t.Fatalf("round %d: %+v %v", round, sum, err)
			}
			got := counts()
			for _, k := range Kinds {
				if got[k] != stats.ByKind[k] {
					t.Errorf("round %d: %d %s rows, generated %d", round, got[k], k, stats.ByKind[k])
				}
			}
		}
		// Twice in one batch (one statement): the last line wins, as it
		// would line by line.
		acct := Phones(40, 3)[0]
		lines := `{"kind":"subscriber","account":"` + acct + `","name":"First Rename"}` + "\n" +
			`{"kind":"subscriber","account":"` + acct + `","name":"Renamed Person"}`
		if _, err := f.s.Import(ctx, strings.NewReader(lines), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		recs, _ := f.s.Records(ctx, Query{Category: cases.BasicSubscriberInfo, Accounts: []string{acct}})
		if len(recs) != 1 || recs[0].(*Subscriber).Name != "Renamed Person" || recs[0].(*Subscriber).CreatedAt != nil {
			t.Fatalf("subscriber after update: %+v", recs)
		}
	})
}

// Records come back as they went in, limited to the accounts and, for
// historical kinds, the window asked for.
func TestRecordsQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a, b, c := "+14155550123", "+447911123456", "+12125550188"
		input := strings.Join([]string{
			`{"kind":"ip_session","account":"` + a + `","at":"2026-11-01T00:00:00Z","ip":"10.0.0.1","port":1}`,
			`{"kind":"ip_session","account":"` + a + `","at":"2026-11-10T00:00:00.123456Z","ip":"10.0.0.2","port":2}`,
			`{"kind":"ip_session","account":"` + a + `","at":"2026-11-20T00:00:00Z","ip":"10.0.0.3","port":3}`,
			`{"kind":"ip_session","account":"` + b + `","at":"2026-11-10T00:00:00Z","ip":"10.0.0.4","port":4}`,
			`{"kind":"contact","account":"` + a + `","contact":"` + b + `"}`,
			`{"kind":"contact","account":"` + c + `","contact":"` + a + `"}`,
			`{"kind":"contact","account":"` + b + `","contact":"` + c + `"}`,
			`{"kind":"subscriber","account":"` + a + `","name":"Dana","created_at":"2020-01-01T00:00:00Z"}`,
		}, "\n")
		if sum, err := f.s.Import(ctx, strings.NewReader(input), ImportOptions{}); err != nil || sum.Rejected != 0 {
			t.Fatalf("%+v %v", sum, err)
		}
		w := &cases.Window{From: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}
		recs, err := f.s.Records(ctx, Query{Category: cases.IPLogs, Accounts: []string{a}, Window: w})
		if err != nil || len(recs) != 1 {
			t.Fatalf("ip logs in window: %v %v", recs, err)
		}
		s := recs[0].(*IPSession)
		if s.IP != "10.0.0.2" || s.Port != 2 || !s.At.Equal(time.Date(2026, 11, 10, 0, 0, 0, 123456000, time.UTC)) || s.At.Location() != time.UTC {
			t.Fatalf("ip session read back: %+v", s)
		}
		// Contacts: a's address book, and the books that hold a.
		recs, _ = f.s.Records(ctx, Query{Category: cases.Contacts, Accounts: []string{a}})
		if len(recs) != 2 {
			t.Fatalf("contacts of %s: %+v", a, recs)
		}
		recs, _ = f.s.Records(ctx, Query{Category: cases.BasicSubscriberInfo, Accounts: []string{a}, Window: w})
		sub := recs[0].(*Subscriber)
		if len(recs) != 1 || sub.Name != "Dana" || sub.LastSeenAt != nil || !sub.CreatedAt.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("a snapshot record is not limited by the window: %+v", recs)
		}
		if recs, _ := f.s.Records(ctx, Query{Category: cases.MessageContent, Accounts: []string{a}}); len(recs) != 0 {
			t.Fatal("message content has records")
		}
	})
}
