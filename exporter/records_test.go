package exporter

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// The byte path of the pair export (addPairBytes) writes exactly what the
// general path (addPair: encoding/csv and the JSON encoder) writes, for
// plain values and for every value one of the two files must quote or
// escape.
func TestPairBytesMatchesEncoders(t *testing.T) {
	values := []string{
		"+14155550123", "acct-42", "g-family", "", "a,b", `say "hi"`, "line\nbreak", "cr\rx", `\.`, `\.x`,
		" lead", "\tlead", "\u00a0nbsp", "\u2028sep", "é-account", "<b>&amp;</b>", `back\slash`, "ctl\x01",
		"x\u2029", "trail ", "\xff\xfe",
	}
	at := []time.Time{T0, T0.Add(1500 * time.Millisecond), T0.Add(123456 * time.Microsecond)}
	dirA, dirB := t.TempDir(), t.TempDir()
	a, err := newCategoryWriter(dirA, cases.MessagePairs, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newCategoryWriter(dirB, cases.MessagePairs, 5)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, v := range values {
		for _, other := range []string{phone, v} {
			ts := at[n%len(at)]
			n++
			kind := []string{"text", "media", v}[i%3]
			if err := a.addPair(ts, v, other, kind); err != nil {
				t.Fatal(err)
			}
			if err := b.addPairBytes(ts, []byte(v), []byte(other), []byte(kind)); err != nil {
				t.Fatal(err)
			}
		}
	}
	sa, err := a.close()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.close()
	if err != nil {
		t.Fatal(err)
	}
	for i := range sa {
		if sa[i] != sb[i] {
			fa, _ := os.ReadFile(filepath.Join(dirA, sa[i].Path))
			fb, _ := os.ReadFile(filepath.Join(dirB, sb[i].Path))
			t.Errorf("%s differs:\n--- encoders\n%s\n--- bytes\n%s", sa[i].Path, fa, fb)
		}
	}
	if len(a.preview) != 5 || strings.Join(a.preview[4], "|") != strings.Join(b.preview[4], "|") {
		t.Errorf("previews differ: %q vs %q", a.preview, b.preview)
	}
}

// Parties that CSV must quote or JSON must escape, collected for real,
// come out of a package readable by encoding/csv and encoding/json with
// the values intact, on both engines.
func TestPairsQuoted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		pr := f.penRegister()
		f.set(T0.Add(2 * time.Hour))
		odd := []string{`x,"y"`, "<&>", "\u00a0nbsp", "é"}
		var lines []string
		for i, o := range odd {
			q, _ := json.Marshal(o)
			lines = append(lines, `{"from":"`+phone+`","to":`+string(q)+`,"at":"`+T0.Add(time.Duration(i+1)*time.Minute).Format(time.RFC3339)+`","kind":"text"}`)
		}
		f.collect(lines...)
		files := unzip(t, f.path(f.export(pr)))
		rows, err := csv.NewReader(bytes.NewReader(files["records/message_pairs.csv"])).ReadAll()
		if err != nil || len(rows) != len(odd)+1 {
			t.Fatalf("CSV: %v %q", err, rows)
		}
		var objs []map[string]string
		if err := json.Unmarshal(files["records/message_pairs.json"], &objs); err != nil || len(objs) != len(odd) {
			t.Fatalf("JSON: %v %s", err, files["records/message_pairs.json"])
		}
		for i, o := range odd {
			if rows[i+1][2] != o || objs[i]["to"] != o {
				t.Errorf("pair %d: CSV %q, JSON %q, want %q", i, rows[i+1], objs[i], o)
			}
		}
	})
}

// A stored pair holding the SQLite path's field separator (which
// collection refuses) fails the export rather than shifting its fields.
func TestPairWithTabFails(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	pr := f.penRegister()
	f.set(T0.Add(2 * time.Hour))
	if _, err := f.db.Writer().Exec("INSERT INTO collected_pairs (case_id, at, from_account, to_account, kind, collected_at) VALUES (?, ?, ?, ?, ?, ?)",
		pr.ID, T0.Add(time.Minute), phone, "evil\tto", "text", T0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.exp.Export(ctx, f.reviewer.Email, pr.Number); err == nil || !strings.Contains(err.Error(), "tab") {
		t.Errorf("export of a pair holding a tab: %v", err)
	}
}

// TestAppendRFC3339NanoUTC: the pair writer's time format is
// time.RFC3339Nano's, in UTC, for every kind of fraction and zone.
func TestAppendRFC3339NanoUTC(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 18))
	zone := time.FixedZone("", -7*3600-30*60)
	times := []time.Time{{}, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 9, 30, 0, 100_000_000, zone), time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC)}
	for range 10000 {
		times = append(times, time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9)).In(zone), time.Unix(rng.Int64N(1<<32), rng.Int64N(1000)*1e6))
	}
	for _, tm := range times {
		if got, want := string(appendRFC3339NanoUTC([]byte("x"), tm)), "x"+tm.UTC().Format(time.RFC3339Nano); got != want {
			t.Fatalf("%v: %s, want %s", tm, got, want)
		}
	}
}
