package metadata

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// TestEachPairBytesChunks: the chunked read returns every pair of the
// case inside the ID range once, in key order, as EachPair reads them,
// when chunk boundaries fall inside runs of pairs with the same time and
// another case's pairs are interleaved with the case's.
func TestEachPairBytesChunks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.penRegister([]string{"+14155550100"}, T0.Add(-time.Hour), T0.Add(time.Hour))
		other := f.penRegister([]string{"+14155550199"}, T0.Add(-time.Hour), T0.Add(time.Hour))
		const n = 3*pairChunk + 17
		tx := db.Writer().MustBegin()
		for i := range n {
			at := T0.Add(time.Duration(i/7) * time.Second) // seven pairs a second
			for _, id := range []int64{c.ID, other.ID} {
				tx.MustExec(tx.Rebind("INSERT INTO collected_pairs (case_id, at, from_account, to_account, kind, collected_at) VALUES (?, ?, ?, ?, ?, ?)"),
					id, at, "+14155550100", fmt.Sprintf("+1415556%04d", (i*7919)%10000), "message", at)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var lo, hi int64
		if err := db.Reader().QueryRow(db.Reader().Rebind("SELECT MIN(id), MAX(id) FROM collected_pairs WHERE case_id = ?"), c.ID).Scan(&lo, &hi); err != nil {
			t.Fatal(err)
		}
		for _, r := range [][2]int64{{0, 1 << 62}, {lo + 100, hi - 2000}} {
			var want []string
			if err := f.s.EachPair(ctx, c.ID, r[0], r[1], func(p *Pair) error {
				want = append(want, fmt.Sprint(p.At.UTC(), p.From, p.To, p.Kind))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var got, handed []string
			collect := func(dst *[]string) func(p *PairBytes) error {
				return func(p *PairBytes) error {
					at, err := PairTime(p.At)
					*dst = append(*dst, fmt.Sprint(at, string(p.From), string(p.To), string(p.Kind)))
					return err
				}
			}
			if err := f.s.EachPairBytes(ctx, c.ID, r[0], r[1], collect(&got)); err != nil {
				t.Fatal(err)
			}
			// The chunks handed over whole, each kept by the callback (a
			// new buffer for the next), split as the exporter splits them.
			chunks := 0
			if err := f.s.EachPairChunk(ctx, c.ID, r[0], r[1], func(text []byte, rows int) ([]byte, error) {
				chunks++
				return nil, SplitPairs(text, rows, collect(&handed))
			}); err != nil {
				t.Fatal(err)
			}
			if chunks < 3 {
				t.Errorf("range %v: %d chunks", r, chunks)
			}
			for name, list := range map[string][]string{"EachPairBytes": got, "EachPairChunk": handed} {
				if len(want) < 2*pairChunk || len(list) != len(want) {
					t.Fatalf("range %v: %d pairs read by %s, %d one by one", r, len(list), name, len(want))
				}
				for i := range want {
					if list[i] != want[i] {
						t.Fatalf("range %v, %s, pair %d: %q, want %q", r, name, i, list[i], want[i])
					}
				}
			}
		}
	})
}

// SplitPairs refuses a chunk whose rows or fields are not what it holds.
func TestSplitPairsRefuses(t *testing.T) {
	ok := func(*PairBytes) error { return nil }
	for _, c := range []struct {
		text string
		rows int
		want string
	}{
		{"a\tb\tc\td\na\tb\tc\td", 3, "held 2 pairs, not 3"},
		{"a\tb\tc", 1, "four fields"},
		{"a\tb\tc\td\te", 1, "tab"},
	} {
		if err := SplitPairs([]byte(c.text), c.rows, ok); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q (%d rows): %v, want %q", c.text, c.rows, err, c.want)
		}
	}
	if err := SplitPairs([]byte("a\tb\tc\td\ne\tf\tg\th"), 2, ok); err != nil {
		t.Error(err)
	}
}
