package metadata

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// MaxEventLine bounds one collection event line. An event is under 200
// bytes; a longer line is rejected, never buffered.
const MaxEventLine = 64 << 10

// flushEvents is how many kept events are stored per transaction.
const flushEvents = 1000

// event is one collection event parsed in place: its strings alias the
// line, or for escaped strings the event's own buffers.
type event struct {
	from, to, kind []byte
	at             int64 // Unix nanoseconds
	bufs           [4][]byte
}

// The members of an event, as indexes into event.bufs.
const (
	memberFrom = iota
	memberTo
	memberAt
	memberKind
)

var memberNames = [4]string{"from", "to", "at", "kind"}

var (
	errNoFrom = &FieldError{"from", "is required"}
	errNoTo   = &FieldError{"to", "is required"}
	errNoAt   = &FieldError{"at", "is required"}
	errBadAt  = &FieldError{"at", "is not an RFC 3339 time (e.g. 2026-11-20T09:30:00Z)"}
	errKind   = &FieldError{"kind", "must be one of text, media, call, group"}
)

// parseEvent decodes {"from", "to", "at", "kind"}; every other member is
// skipped unread (a body stays in the request buffer it came in). Common
// errors are shared values, so even a rejected line rarely allocates.
func parseEvent(sc *scanner, line []byte, ev *event) error {
	var vals [4][]byte
	for sc.reset(line); sc.next(); {
		m := -1
		switch string(sc.key) {
		case "from":
			m = memberFrom
		case "to":
			m = memberTo
		case "at":
			m = memberAt
		case "kind":
			m = memberKind
		}
		if m < 0 {
			continue
		}
		if sc.typ != typeString {
			return &FieldError{memberNames[m], "must be a string, not " + sc.typ.String()}
		}
		vals[m] = sc.val
		if sc.esc {
			ev.bufs[m] = unescape(ev.bufs[m][:0], sc.val)
			vals[m] = ev.bufs[m]
		}
	}
	if sc.err != nil {
		return sc.err
	}
	ev.from, ev.to, ev.kind = vals[memberFrom], vals[memberTo], vals[memberKind]
	switch {
	case !validParty(ev.from):
		return partyError("from", ev.from)
	case !validParty(ev.to):
		return partyError("to", ev.to)
	case len(vals[memberAt]) == 0:
		return errNoAt
	case !validKind(ev.kind):
		return errKind
	}
	var err error
	if ev.at, err = parseStamp(vals[memberAt]); err != nil {
		return errBadAt
	}
	return nil
}

// validParty accepts one account identifier: 1 to 128 bytes, no spaces or
// control characters. Events are filtered, not validated as phone numbers:
// an identifier that names no target is simply not kept.
func validParty(b []byte) bool {
	if len(b) == 0 || len(b) > 128 {
		return false
	}
	ascii := true
	for _, c := range b {
		if c <= ' ' || c == 0x7f {
			return false
		}
		ascii = ascii && c < 0x80
	}
	return ascii || utf8.Valid(b)
}

func partyError(field string, b []byte) error {
	if len(b) == 0 {
		if field == "from" {
			return errNoFrom
		}
		return errNoTo
	}
	return &FieldError{field, "must be one account identifier (no spaces, at most 128 bytes)"}
}

func validKind(b []byte) bool {
	switch string(b) {
	case "text", "media", "call", "group":
		return true
	}
	return false
}

// CollectResult counts one stream of collection events. Every non-blank
// line received is exactly one of kept, dropped (not involving an active
// target inside its span), a clock error, or rejected (malformed).
type CollectResult struct {
	Received    int64 `json:"received"`
	Kept        int64 `json:"kept"`
	ClockErrors int64 `json:"clock_errors"`
	Rejected    int64 `json:"rejected"`
}

// CollectOptions tune Collect.
type CollectOptions struct {
	// OnError is told about each malformed line.
	OnError func(*LineError)
}

// Collect reads NDJSON message events from r and keeps those that involve
// an active target inside that target's window, as message pairs of the
// target's case(s). Everything else is dropped without being stored.
// Collection goes by each event's own timestamp: a late batch stamped
// inside a window is kept, an event stamped before a window opened is not
// (the tap was not on), and one stamped more than ClockSkew after now is a
// clock error. Malformed lines are counted and reported, not fatal; a
// database failure stops the stream.
//
// Memory stays flat in the stream's length: lines are read in place from a
// fixed buffer and kept events are stored every flushEvents.
func (s *Store) Collect(ctx context.Context, r io.Reader, opt CollectOptions) (CollectResult, error) {
	run := &collectRun{s: s, ctx: ctx}
	ix, err := s.index(ctx)
	if err != nil {
		return run.res, err
	}
	run.ix = ix
	err = run.stream(newLineReader(r, MaxEventLine), opt)
	if ferr := run.flush(); err == nil {
		err = ferr
	}
	return run.res, err
}

// collectRun is the state of one Collect call.
type collectRun struct {
	s   *Store
	ctx context.Context
	ix  *index
	res CollectResult

	sc      scanner
	ev      event
	matches []int64

	// Kept events awaiting storage. Their strings are copied into one
	// arena, reused from flush to flush, so steady state allocates nothing.
	pending   []pendingEvent
	arena     []byte
	lastFlush time.Time
}

type pendingEvent struct {
	from, to, kind span32
	at             int64
}

// span32 locates a string in the arena.
type span32 struct{ off, n uint32 }

func (r *collectRun) str(sp span32) []byte { return r.arena[sp.off : sp.off+sp.n] }

func (r *collectRun) keep(b []byte) span32 {
	sp := span32{uint32(len(r.arena)), uint32(len(b))}
	r.arena = append(r.arena, b...)
	return sp
}

func (r *collectRun) stream(lr *lineReader, opt CollectOptions) error {
	now := r.s.db.Now()
	r.lastFlush = now
	limit := now.Add(ClockSkew).UnixNano()
	for n := 0; ; n++ {
		if n&255 == 255 {
			// Time moves, and so may the windows; checking both every
			// 256 lines costs nothing measurable.
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if now = r.s.db.Now(); now.Sub(r.lastFlush) >= refreshEvery {
				if err := r.refresh(); err != nil {
					return err
				}
			}
			limit = now.Add(ClockSkew).UnixNano()
		}
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return err
		}
		if err == nil && len(line) == 0 {
			continue
		}
		r.res.Received++
		if err == nil {
			err = parseEvent(&r.sc, line, &r.ev)
		}
		if err != nil {
			r.res.Rejected++
			if opt.OnError != nil {
				opt.OnError(&LineError{Line: lr.line, Err: err})
			}
			continue
		}
		if r.ev.at > limit {
			r.res.ClockErrors++
			continue
		}
		r.matches = r.ix.match(r.ev.from, r.ev.to, r.ev.at, r.matches[:0])
		if len(r.matches) == 0 {
			continue
		}
		r.pending = append(r.pending, pendingEvent{r.keep(r.ev.from), r.keep(r.ev.to), r.keep(r.ev.kind), r.ev.at})
		if len(r.pending) >= flushEvents {
			if err := r.flush(); err != nil {
				return err
			}
		}
	}
}

// refresh stores what is pending and picks up changed windows.
func (r *collectRun) refresh() error {
	if err := r.flush(); err != nil {
		return err
	}
	ix, err := r.s.index(r.ctx)
	if err != nil {
		return err
	}
	r.ix = ix
	return nil
}

// flush stores the pending events as pairs of their cases, in one
// transaction that holds the window state: if the windows changed since the
// events were matched (an early close), they are matched again against the
// new windows first, so no pair outlives its window.
func (r *collectRun) flush() error {
	r.lastFlush = r.s.db.Now()
	if len(r.pending) == 0 {
		return nil
	}
	db := r.s.db
	collectedAt := db.Now()
	var kept int64
	err := db.Tx(r.ctx, func(tx *sqlx.Tx) error {
		kept = 0 // the transaction may run again (store.DB.Tx)
		v, err := stateVersion(r.ctx, tx, db.Dialect, true)
		if err != nil {
			return err
		}
		if v != r.ix.version {
			if r.ix, err = r.s.reload(r.ctx, tx, v); err != nil {
				return err
			}
		}
		ins := newPairInserter(tx, collectedAt)
		for _, p := range r.pending {
			r.matches = r.ix.match(r.str(p.from), r.str(p.to), p.at, r.matches[:0])
			if len(r.matches) > 0 {
				kept++
			}
			for _, caseID := range r.matches {
				ins.add(caseID, p.at, string(r.str(p.from)), string(r.str(p.to)), string(r.str(p.kind)))
			}
		}
		return ins.flush(r.ctx)
	})
	if err != nil {
		return fmt.Errorf("store collected pairs: %w", err)
	}
	r.res.Kept += kept
	r.pending, r.arena = r.pending[:0], r.arena[:0]
	return nil
}

// pairBatch is how many pairs one INSERT statement carries.
const pairBatch = 250

// pairInserter writes collected pairs with multi-row INSERTs: one round
// trip per pairBatch rows instead of one per row.
//
// The rows of a transaction are written in the order of the pairs' unique
// key. Two collectors that keep the same pairs (two feeds, two instances)
// each wait on the other's uncommitted copy of a key in the unique index:
// in arrival order, one could hold a key the other waits for while
// waiting for a key the other holds, a deadlock (TestMixedWriteBurst-
// NoDeadlock counts them); in one order, the later one only waits.
type pairInserter struct {
	tx          *sqlx.Tx
	collectedAt time.Time
	rows        []pairRow
}

// pairRow is a collected pair to insert; its fields are the unique key.
type pairRow struct {
	caseID, at     int64
	from, to, kind string
}

func comparePairRows(a, b pairRow) int {
	if c := cmp.Compare(a.caseID, b.caseID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	if c := strings.Compare(a.from, b.from); c != 0 {
		return c
	}
	if c := strings.Compare(a.to, b.to); c != 0 {
		return c
	}
	return strings.Compare(a.kind, b.kind)
}

func newPairInserter(tx *sqlx.Tx, collectedAt time.Time) *pairInserter {
	return &pairInserter{tx: tx, collectedAt: collectedAt}
}

func (p *pairInserter) add(caseID, at int64, from, to, kind string) {
	p.rows = append(p.rows, pairRow{caseID, at, from, to, kind})
}

var pairValues = "(" + placeholders(6) + ")"

// flush writes the rows added, in key order, pairBatch to a statement.
func (p *pairInserter) flush(ctx context.Context) error {
	slices.SortFunc(p.rows, comparePairRows)
	args := make([]any, 0, 6*min(len(p.rows), pairBatch))
	for len(p.rows) > 0 {
		batch := p.rows[:min(len(p.rows), pairBatch)]
		args = args[:0]
		for _, r := range batch {
			args = append(args, r.caseID, stampTime(r.at), r.from, r.to, r.kind, p.collectedAt)
		}
		query := "INSERT INTO collected_pairs (case_id, at, from_account, to_account, kind, collected_at) VALUES " +
			strings.TrimSuffix(strings.Repeat(pairValues+", ", len(batch)), ", ") +
			" ON CONFLICT (case_id, at, from_account, to_account, kind) DO NOTHING"
		if _, err := p.tx.ExecContext(ctx, p.tx.Rebind(query), args...); err != nil {
			return err
		}
		p.rows = p.rows[len(batch):]
	}
	return nil
}

// Pair is a collected message pair: one event kept for one case.
type Pair struct {
	CaseID      int64     `json:"case_id" db:"case_id"`
	From        string    `json:"from" db:"from_account"`
	To          string    `json:"to" db:"to_account"`
	At          time.Time `json:"at" db:"at"`
	Kind        string    `json:"kind" db:"kind"`
	CollectedAt time.Time `json:"collected_at" db:"collected_at"`
}

// Pairs calls fn with each pair collected for a case, in time order. It
// streams, since a long pen register may hold millions.
func (s *Store) Pairs(ctx context.Context, caseID int64, fn func(*Pair) error) error {
	q := s.db.Reader()
	rows, err := q.QueryxContext(ctx, q.Rebind(`SELECT case_id, from_account, to_account, at, kind, collected_at
		FROM collected_pairs WHERE case_id = ? ORDER BY at, id`), caseID)
	if err != nil {
		return fmt.Errorf("read collected pairs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Pair
		if err := rows.StructScan(&p); err != nil {
			return fmt.Errorf("read collected pairs: %w", err)
		}
		p.At, p.CollectedAt = p.At.UTC(), p.CollectedAt.UTC()
		if err := fn(&p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PairCount counts the pairs collected for a case.
func (s *Store) PairCount(ctx context.Context, caseID int64) (int64, error) {
	var n int64
	err := s.db.Reader().GetContext(ctx, &n, s.db.Reader().Rebind("SELECT COUNT(*) FROM collected_pairs WHERE case_id = ?"), caseID)
	return n, err
}
