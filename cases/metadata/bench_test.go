package metadata

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// benchTargets is the number of active targets the filter is benchmarked
// with (the figure).
const benchTargets = 10_000

// benchFilter indexes benchTargets targets, each under one case with a
// window around T0, and returns the targets and some other accounts.
func benchFilter(b *testing.B) (*Filter, []string, []string) {
	phones := Phones(2*benchTargets, 99)
	targets, others := phones[:benchTargets], phones[benchTargets:]
	ws := make([]Window, len(targets))
	for i, t := range targets {
		ws[i] = Window{CaseID: int64(i/25 + 1), Category: cases.MessagePairs, Target: t, OpensAt: T0.Add(-time.Hour), EndsAt: T0.Add(time.Hour)}
	}
	f := &Filter{}
	f.idx.Store(newIndex(1, T0, ws))
	return f, targets, others
}

// benchLines is a stream of NDJSON events in which one in twenty involves a
// target: realistic traffic, where almost everything is dropped.
func benchLines(targets, others []string, n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	kinds := []string{"text", "media", "call", "group"}
	for i := 0; i < n; i++ {
		from, to := others[rng.IntN(len(others))], others[rng.IntN(len(others))]
		if rng.IntN(20) == 0 {
			from = targets[rng.IntN(len(targets))]
		}
		at := T0.Add(time.Duration(rng.Int64N(int64(4*time.Hour))) - 2*time.Hour).Truncate(time.Millisecond)
		fmt.Fprintf(&buf, `{"from":"%s","to":"%s","at":"%s","kind":"%s"}`+"\n", from, to, at.Format(time.RFC3339Nano), kinds[rng.IntN(4)])
	}
	return buf.Bytes()
}

func reportRate(b *testing.B, events int) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkFilterMatch is the filter alone on parsed events: two hash
// probes and a span check per event.
func BenchmarkFilterMatch(b *testing.B) {
	f, targets, others := benchFilter(b)
	ix := f.idx.Load()
	type ev struct {
		from, to []byte
		at       int64
	}
	rng := rand.New(rand.NewPCG(3, 4))
	evs := make([]ev, 4096)
	for i := range evs {
		from := others[rng.IntN(len(others))]
		if i%20 == 0 {
			from = targets[rng.IntN(len(targets))]
		}
		evs[i] = ev{[]byte(from), []byte(others[rng.IntN(len(others))]), T0.Add(time.Duration(rng.IntN(7200)-3600) * time.Second).UnixNano()}
	}
	var dst []int64
	kept := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := &evs[i&4095]
		if dst = ix.match(e.from, e.to, e.at, dst[:0]); len(dst) > 0 {
			kept++
		}
	}
	reportRate(b, b.N)
	if kept == 0 {
		b.Fatal("nothing matched")
	}
}

// BenchmarkFilterLines is parse + clock check + filter on NDJSON lines:
// the per-event work of collection, less storage.
func BenchmarkFilterLines(b *testing.B) {
	f, targets, others := benchFilter(b)
	ix := f.idx.Load()
	data := benchLines(targets, others, 20_000)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	var sc scanner
	var ev event
	var dst []int64
	limit := T0.Add(ClockSkew).UnixNano()
	b.SetBytes(int64(len(data) / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := parseEvent(&sc, lines[i%len(lines)], &ev); err != nil {
			b.Fatal(err)
		}
		if ev.at > limit {
			continue
		}
		dst = ix.match(ev.from, ev.to, ev.at, dst[:0])
	}
	reportRate(b, b.N)
}

// repeatReader serves data over and over, n bytes in all, without holding
// more than one copy: a long stream in flat memory.
type repeatReader struct {
	data []byte
	off  int
	left int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if r.off == len(r.data) {
		r.off = 0
	}
	n := copy(p, r.data[r.off:])
	if int64(n) > r.left {
		n = int(r.left)
	}
	r.off += n
	r.left -= int64(n)
	return n, nil
}

// BenchmarkCollect is Collect end to end in process, storing kept pairs in
// SQLite: 10,000 approved targets, 1 event in 20 involving one.
func BenchmarkCollect(b *testing.B) {
	f := newFixture(b, storetest.SQLite(b))
	db, s := f.db, f.s
	_, targets, others := benchFilter(b)
	// The windows open the real way: 400 approved pen registers of 25
	// targets each.
	for i := 0; i < len(targets); i += 25 {
		f.penRegister(targets[i:i+25], T0.Add(-time.Hour), T0.Add(time.Hour))
	}
	if fl, err := s.Filter(ctx); err != nil || fl.Targets() != benchTargets {
		b.Fatalf("%v targets indexed, want %d (%v)", fl.Targets(), benchTargets, err)
	}
	data := benchLines(targets, others, 100_000)
	const events = 1_000_000 // the 100,000 lines ten times over
	b.SetBytes(int64(len(data)) * 10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.Writer().MustExec("DELETE FROM collected_pairs")
		res, err := s.Collect(ctx, &repeatReader{data: data, left: int64(len(data)) * 10}, CollectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Kept == 0 || res.Rejected != 0 {
			b.Fatalf("%+v", res)
		}
	}
	reportRate(b, b.N*events)
}
