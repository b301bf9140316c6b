package metadata

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

func day(d int, hm ...int) time.Time {
	t := time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC)
	if len(hm) > 0 {
		t = t.Add(time.Duration(hm[0]) * time.Hour)
	}
	return t
}

func eventLine(from, to string, at time.Time, kind string) string {
	return fmt.Sprintf(`{"from":%q,"to":%q,"at":%q,"kind":%q}`, from, to, at.Format(time.RFC3339Nano), kind)
}

// Windows open per target and prospective category, from the later of the
// approval and the allowed window's start.
func TestApprovalOpensWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a, b := "+14155550123", "+447911123456"
		// Approved before the window starts: it opens at the start.
		early := f.penRegister([]string{a, b}, day(22), day(30))
		ws, err := f.s.Windows(ctx, early.ID)
		if err != nil || len(ws) != 4 {
			t.Fatalf("windows: %+v %v", ws, err)
		}
		for _, w := range ws {
			if !w.OpensAt.Equal(day(22)) || !w.EndsAt.Equal(day(30)) || w.ClosedAt != nil || w.OpenedBy != f.reviewer.Email {
				t.Errorf("window %+v", w)
			}
		}
		// Approved after it started: it opens at the approval, never before.
		late := f.penRegister([]string{a}, day(1), day(30))
		ws, _ = f.s.Windows(ctx, late.ID)
		if len(ws) != 2 || !ws[0].OpensAt.Equal(T0) {
			t.Fatalf("late approval: %+v", ws)
		}
		// Over before the approval: nothing opens, nothing is audited.
		past := f.penRegister([]string{a}, day(1), day(10))
		if ws, _ = f.s.Windows(ctx, past.ID); len(ws) != 0 || f.actions(past)["collection.open"] != 0 {
			t.Fatalf("past window opened: %+v", ws)
		}
		// Historical categories open nothing.
		hist := f.approve(f.logCase(cases.CourtOrder2703d, []string{a}, []cases.Allowed{
			{Category: cases.IPLogs, Rule: "US-2703D", Window: &cases.Window{From: day(1), To: day(30)}},
		}, nil))
		if ws, _ = f.s.Windows(ctx, hist.ID); len(ws) != 0 {
			t.Fatalf("historical order opened %+v", ws)
		}
		// A rejected case opens nothing.
		rej := f.logCase(cases.PenRegister, []string{b}, []cases.Allowed{
			{Category: cases.MessagePairs, Window: &cases.Window{From: day(1), To: day(30)}, Prospective: true}}, nil)
		if _, err := db.Review(ctx, f.reviewer, rej.Number, cases.StatusRejected, "no"); err != nil {
			t.Fatal(err)
		}
		if ws, _ = f.s.Windows(ctx, rej.ID); len(ws) != 0 {
			t.Fatal("rejected case opened windows")
		}
		if n := f.actions(early)["collection.open"]; n != 1 {
			t.Fatalf("%d collection.open events", n)
		}
		// New gives one Store per database; and were its hooks registered
		// twice, they would open no second set of windows nor audit twice.
		if New(db) != f.s {
			t.Fatal("a second Store for one database")
		}
		db.OnApprove(f.s.onApprove)
		again := f.penRegister([]string{b}, day(22), day(30))
		if ws, _ = f.s.Windows(ctx, again.ID); len(ws) != 2 || f.actions(again)["collection.open"] != 1 {
			t.Fatalf("two stores: %d windows, %d events", len(ws), f.actions(again)["collection.open"])
		}
		f.verifyAudit()
	})
}

// The known outcome of a generated stream, worked out independently of the
// filter: from the cases' spans, by plain time comparisons.
type expectation struct {
	received, kept, clockErrors, rejected int64
	rows                                  map[int64]map[string]bool // per case: the pairs' keys
}

// spanOf is a target's collection span under one case.
type spanOf struct {
	caseID   int64
	from, to time.Time
}

// streamEvents writes n generated events (plus edge cases) to w and
// records what should happen to each. targets maps each watched account to
// its spans; other accounts are background traffic.
func streamEvents(w io.Writer, n int, seed uint64, now time.Time, targets map[string][]spanOf, unwatched []string, background []string, exp *expectation) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	rng := rand.New(rand.NewPCG(seed, 1))
	var watched []string
	for t := range targets {
		watched = append(watched, t)
	}
	// Map iteration order is random; the stream must not be.
	sortStrings(watched)
	involved := append(append([]string{}, watched...), unwatched...)
	lo, hi := day(15), now.Add(6*time.Hour) // some stamped too far ahead
	limit := now.Add(ClockSkew)
	kinds := []string{"text", "media", "call", "group"}
	judge := func(from, to string, at time.Time, kind string) {
		exp.received++
		if at.After(limit) {
			exp.clockErrors++
			return
		}
		kept := false
		for _, acct := range []string{from, to} {
			for _, sp := range targets[acct] {
				if !at.Before(sp.from) && at.Before(sp.to) {
					kept = true
					exp.rows[sp.caseID][fmt.Sprint(at.UnixNano(), from, to, kind)] = true
				}
			}
		}
		if kept {
			exp.kept++
		}
	}
	emit := func(from, to string, at time.Time, kind string, extra string) error {
		judge(from, to, at, kind)
		line := eventLine(from, to, at, kind)
		if extra != "" {
			line = strings.TrimSuffix(line, "}") + extra + "}"
		}
		_, err := bw.WriteString(line + "\n")
		return err
	}
	// Edges: each span's first and last microsecond, and just outside.
	for _, acct := range watched {
		for _, sp := range targets[acct] {
			peer := background[0]
			for _, at := range []time.Time{sp.from, sp.from.Add(-time.Microsecond), sp.to, sp.to.Add(-time.Microsecond)} {
				if err := emit(acct, peer, at, "text", ""); err != nil {
					return err
				}
			}
		}
	}
	for _, at := range []time.Time{limit, limit.Add(time.Microsecond)} {
		if err := emit(watched[0], background[1], at, "call", ""); err != nil {
			return err
		}
	}
	malformed := []string{`{"from":"+1","to":"+2"}`, `not json at all`, `{"from":"+14155550123","to":"+2","at":"tomorrow","kind":"text"}`,
		`{"from":"+14155550123","to":"+2","at":"2026-11-21T00:00:00Z","kind":"text"`, `[1,2,3]`, `{"from":"a b","to":"+2","at":"2026-11-21T00:00:00Z","kind":"text"}`}
	for i := 0; i < n; i++ {
		if rng.IntN(100) == 0 {
			exp.received++
			exp.rejected++
			if _, err := bw.WriteString(malformed[rng.IntN(len(malformed))] + "\n"); err != nil {
				return err
			}
			continue
		}
		from, to := background[rng.IntN(len(background))], background[rng.IntN(len(background))]
		if rng.IntN(10) == 0 { // a tenth of the traffic touches a named account
			acct := involved[rng.IntN(len(involved))]
			if rng.IntN(2) == 0 {
				from = acct
			} else {
				to = acct
			}
			if rng.IntN(20) == 0 {
				to = watched[rng.IntN(len(watched))]
			}
		}
		at := lo.Add(time.Duration(rng.Int64N(int64(hi.Sub(lo))))).Truncate(time.Microsecond)
		extra := ""
		if rng.IntN(4) == 0 {
			extra = `,"body":"` + marker + `","attachments":[{"sha":"x"}]`
		}
		if err := emit(from, to, at, kinds[rng.IntN(len(kinds))], extra); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// A stream of a million events, a known number of which involve active
// targets inside their spans, keeps exactly that number: none outside a
// window, none for other accounts, none after a window ended or closed
// early; late batches inside a span are kept, events from before the tap
// was on are not, and future-stamped events are counted as clock errors.
func TestCollectMillionEvents(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		phones := Phones(10_010, 11)
		a1, a2, b1, c1, d1, e1, g1 := phones[0], phones[1], phones[2], phones[3], phones[4], phones[5], phones[6]
		background := phones[10:]

		caseA := f.penRegister([]string{a1, a2}, day(20), day(25))    // span [T0, 25th)
		caseB := f.penRegister([]string{b1, a1}, day(22), day(20+30)) // span [22nd, 20 Dec): overlaps A on a1
		caseC := f.penRegister([]string{c1}, day(1), day(31))         // span [T0, close)
		// d1: a historical order; e1: prospective IP logs only; g1: logged,
		// never approved. None of them may collect message pairs.
		f.approve(f.logCase(cases.Subpoena, []string{d1}, []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "US-SUBPOENA"}}, nil))
		f.approve(f.logCase(cases.PenRegister, []string{e1}, []cases.Allowed{
			{Category: cases.IPLogs, Window: &cases.Window{From: day(1), To: day(31)}, Prospective: true}}, nil))
		f.logCase(cases.PenRegister, []string{g1}, []cases.Allowed{
			{Category: cases.MessagePairs, Window: &cases.Window{From: day(1), To: day(31)}, Prospective: true}}, nil)

		closedAt := day(24)
		f.set(closedAt)
		f.close(caseC)
		now := day(26) // A's window is over, C is closed, B runs
		f.set(now)

		targets := map[string][]spanOf{
			a1: {{caseA.ID, T0, day(25)}, {caseB.ID, day(22), day(50)}},
			a2: {{caseA.ID, T0, day(25)}},
			b1: {{caseB.ID, day(22), day(50)}},
			c1: {{caseC.ID, T0, closedAt}},
		}
		exp := &expectation{rows: map[int64]map[string]bool{caseA.ID: {}, caseB.ID: {}, caseC.ID: {}}}
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(streamEvents(pw, n, 5, now, targets, []string{d1, e1, g1}, background, exp))
		}()
		start := time.Now()
		res, err := f.s.Collect(ctx, pr, CollectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d events in %v: %+v", res.Received, time.Since(start), res)
		want := CollectResult{Received: exp.received, Kept: exp.kept, ClockErrors: exp.clockErrors, Rejected: exp.rejected}
		if res != want {
			t.Fatalf("got %+v\nwant %+v", res, want)
		}
		if min := int64(n / 2000); exp.kept < min || exp.clockErrors < min || exp.rejected < min {
			t.Fatalf("the stream does not exercise every path: %+v", want)
		}
		spans := map[int64][]string{caseA.ID: {a1, a2}, caseB.ID: {a1, b1}, caseC.ID: {c1}}
		var total int
		for _, c := range []*cases.Case{caseA, caseB, caseC} {
			pairs := f.pairs(c)
			total += len(pairs)
			if len(pairs) != len(exp.rows[c.ID]) {
				t.Errorf("case %d: %d pairs stored, want %d", c.ID, len(pairs), len(exp.rows[c.ID]))
			}
			for _, p := range pairs {
				if !exp.rows[c.ID][fmt.Sprint(p.At.UnixNano(), p.From, p.To, p.Kind)] {
					t.Fatalf("case %d: unexpected pair %+v", c.ID, p)
				}
				if !contains(spans[c.ID], p.From) && !contains(spans[c.ID], p.To) {
					t.Fatalf("case %d: pair of other accounts %+v", c.ID, p)
				}
			}
		}
		var all int
		if err := db.Reader().Get(&all, "SELECT COUNT(*) FROM collected_pairs"); err != nil || all != total {
			t.Fatalf("%d pairs in all, %d for the three cases", all, total)
		}
		if c := f.pairs(caseC); len(c) > 0 && !c[len(c)-1].At.Before(closedAt) {
			t.Fatalf("a pair after the early close: %+v", c[len(c)-1])
		}
	})
}

// An early close ends collection at once: events stamped after it are not
// kept, late ones stamped before it still are, and pairs already kept that
// are stamped after it (within the clock skew) are discarded.
func TestEarlyCloseStopsCollection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		x, y := "+14155550123", "+447911123456"
		c := f.penRegister([]string{x}, day(19), day(30))
		collect := func(lines ...string) CollectResult {
			t.Helper()
			res, err := f.s.Collect(ctx, strings.NewReader(strings.Join(lines, "\n")), CollectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		f.set(T0.Add(time.Hour))
		res := collect(
			eventLine(x, y, T0.Add(30*time.Minute), "text"),
			eventLine(y, x, T0.Add(61*time.Minute), "media"), // a minute ahead: within the skew
			eventLine(x, y, T0.Add(-time.Minute), "text"),    // before the approval: the tap was off
			eventLine(x, y, T0.Add(2*time.Hour), "text"),     // an hour ahead: a clock error
		)
		if res != (CollectResult{Received: 4, Kept: 2, ClockErrors: 1}) {
			t.Fatalf("before the close: %+v", res)
		}
		f.close(c) // at T0+1h
		ws, _ := f.s.Windows(ctx, c.ID)
		for _, w := range ws {
			if w.ClosedAt == nil || !w.EndsAt.Equal(T0.Add(time.Hour)) || w.ClosedBy != f.intake.Email {
				t.Fatalf("window after close: %+v", w)
			}
		}
		if p := f.pairs(c); len(p) != 1 || !p[0].At.Equal(T0.Add(30*time.Minute)) {
			t.Fatalf("after the close, pairs %+v; want only the one before it", p)
		}
		f.set(T0.Add(2 * time.Hour))
		res = collect(
			eventLine(x, y, T0.Add(90*time.Minute), "text"), // after the close
			eventLine(x, y, T0.Add(50*time.Minute), "call"), // late, but inside: kept
		)
		if res != (CollectResult{Received: 2, Kept: 1}) {
			t.Fatalf("after the close: %+v", res)
		}
		acts := f.actions(c)
		if acts["collection.open"] != 1 || acts["collection.close"] != 1 {
			t.Fatalf("audit: %v", acts)
		}
		evs, _ := db.Events(ctx, "case", fmt.Sprint(c.ID))
		last := evs[len(evs)-1]
		for _, e := range evs {
			if e.Action == "collection.close" {
				last = e
			}
		}
		if !strings.Contains(string(last.After), `"discarded_pairs":1`) {
			t.Fatalf("close event: %s", last.After)
		}
		f.verifyAudit()
	})
}

// A close that lands while a stream is running: events matched before it
// but stored after it are matched again against the closed windows, so
// none stamped after the close survives.
func TestCloseDuringStream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		x, y := "+14155550123", "+447911123456"
		c := f.penRegister([]string{x}, day(19), day(30))
		f.set(T0.Add(time.Hour))
		pr, pw := io.Pipe()
		done := make(chan CollectResult)
		go func() {
			res, err := f.s.Collect(ctx, pr, CollectOptions{})
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		// Matched against the open window, then held pending.
		fmt.Fprintln(pw, eventLine(x, y, T0.Add(30*time.Minute), "text"))
		fmt.Fprintln(pw, eventLine(x, y, T0.Add(62*time.Minute), "text"))
		f.close(c) // at T0+1h, while the stream is open
		fmt.Fprintln(pw, eventLine(x, y, T0.Add(63*time.Minute), "text"))
		pw.Close()
		res := <-done
		if res != (CollectResult{Received: 3, Kept: 1}) {
			t.Fatalf("got %+v, want 1 kept", res)
		}
		if p := f.pairs(c); len(p) != 1 || !p[0].At.Equal(T0.Add(30*time.Minute)) {
			t.Fatalf("pairs %+v", p)
		}
	})
}

// Re-sending a batch (a retry after a lost answer) stores nothing twice.
func TestCollectRetryIsHarmless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		x, y := "+14155550123", "+447911123456"
		c := f.penRegister([]string{x, y}, day(19), day(30))
		batch := eventLine(x, y, T0.Add(time.Minute), "text") + "\n" + eventLine(y, x, T0.Add(2*time.Minute), "call")
		for i := 0; i < 2; i++ {
			if res, err := f.s.Collect(ctx, strings.NewReader(batch), CollectOptions{}); err != nil || res.Kept != 2 {
				t.Fatalf("%+v %v", res, err)
			}
		}
		if p := f.pairs(c); len(p) != 2 {
			t.Fatalf("%d pairs after a retry, want 2", len(p))
		}
	})
}

// Malformed lines are reported with their numbers and do not stop the
// stream.
func TestCollectReportsBadLines(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	var errs []string
	input := strings.Join([]string{
		eventLine("+14155550123", "+447911123456", T0, "text"),
		`{"from":"+14155550123"}`,
		"",
		`{"from":"+14155550123","to":"+447911123456","at":"noon","kind":"text"}`,
		strings.Repeat("x", MaxEventLine+10),
		eventLine("+14155550123", "+447911123456", T0, "text"),
	}, "\n")
	res, err := f.s.Collect(ctx, strings.NewReader(input), CollectOptions{OnError: func(e *LineError) { errs = append(errs, e.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	if res != (CollectResult{Received: 5, Rejected: 3}) {
		t.Fatalf("%+v", res)
	}
	want := []string{"line 2: to: is required", "line 4: at: is not an RFC 3339", "line 5: line too long"}
	for i := range want {
		if i >= len(errs) || !strings.HasPrefix(errs[i], want[i]) {
			t.Fatalf("errors %q, want %q", errs, want)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	ws := []Window{
		{CaseID: 1, Category: cases.MessagePairs, Target: "+1", OpensAt: day(1), EndsAt: day(10)},
		{CaseID: 2, Category: cases.MessagePairs, Target: "+1", OpensAt: day(5), EndsAt: day(15)},
		{CaseID: 3, Category: cases.MessagePairs, Target: "+2", OpensAt: day(1), EndsAt: day(30)},
		{CaseID: 4, Category: cases.IPLogs, Target: "+3", OpensAt: day(1), EndsAt: day(30)},
		{CaseID: 5, Category: cases.MessagePairs, Target: "+4", OpensAt: day(5), EndsAt: day(5)}, // closed before it opened
	}
	var f Filter
	f.idx.Store(newIndex(1, T0, ws))
	tests := []struct {
		from, to string
		at       time.Time
		want     []int64
	}{
		{"+1", "+9", day(2), []int64{1}},
		{"+9", "+1", day(6), []int64{1, 2}},
		{"+1", "+2", day(6), []int64{1, 2, 3}},
		{"+2", "+2", day(6), []int64{3}},
		{"+1", "+9", day(10), []int64{2}},
		{"+1", "+9", day(15), nil},
		{"+1", "+9", day(1).Add(-time.Nanosecond), nil},
		{"+3", "+9", day(6), nil},
		{"+4", "+9", day(5), nil},
		{"+9", "+8", day(6), nil},
	}
	for _, tt := range tests {
		got := f.Match(tt.from, tt.to, tt.at, nil)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s→%s at %v: %v, want %v", tt.from, tt.to, tt.at, got, tt.want)
		}
	}
	if f.Targets() != 2 {
		t.Fatalf("%d targets indexed, want 2", f.Targets())
	}
}

// Collection's memory does not grow with the stream: dropped events
// allocate nothing, and kept ones are stored every flushEvents.
func TestCollectMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams millions of events")
	}
	f := newFixture(t, storetest.SQLite(t))
	phones := Phones(1000, 21)
	target, others := phones[0], phones[1:]
	f.penRegister([]string{target}, day(19), day(30))
	f.set(T0.Add(2 * time.Hour))
	lines := func(keepEvery int) []byte {
		var b strings.Builder
		for i := 0; i < 10_000; i++ {
			from := others[i%len(others)]
			if keepEvery > 0 && i%keepEvery == 0 {
				from = target
			}
			b.WriteString(eventLine(from, others[(i*7)%len(others)], T0.Add(time.Duration(i)*time.Millisecond), "text") + "\n")
		}
		return []byte(b.String())
	}
	allocated := func(data []byte, events int) (uint64, CollectResult) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := f.s.Collect(ctx, &repeatReader{data: data, left: int64(len(data)) * int64(events/10_000)}, CollectOptions{})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		return after.TotalAlloc - before.TotalAlloc, res
	}
	dropped := lines(0)
	small, _ := allocated(dropped, 100_000)
	large, res := allocated(dropped, 2_000_000)
	if res.Received != 2_000_000 || large > small+(1<<20) {
		t.Fatalf("dropping 2M events allocated %d bytes, 100k allocated %d: memory grows with the stream", large, small)
	}
	// Half the events kept: the heap stays bounded while 1M stream through.
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	_, res = allocated(lines(2), 1_000_000)
	close(stop)
	if res.Kept < 1000 || peak.Load() > 64<<20 {
		t.Fatalf("kept %d; heap peaked at %d MiB", res.Kept, peak.Load()>>20)
	}
	t.Logf("dropping: %d B for 100k events, %d B for 2M; keeping half of 1M: heap peak %d MiB", small, large, peak.Load()>>20)
}
