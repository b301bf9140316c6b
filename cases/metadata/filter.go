package metadata

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"envelope/cases"
)

// ClockSkew is how far in the future an event may be stamped. Anything
// later is a clock error: never kept, counted apart.
const ClockSkew = 5 * time.Minute

// LateGrace is how long after a window's end a late batch stamped inside it
// is still kept. Older windows leave the filter's index so it does not
// grow for ever; what arrives after that is dropped, which errs on the side
// of collecting less.
const LateGrace = 7 * 24 * time.Hour

// refreshEvery is how often a long stream checks whether the windows
// changed (an approval, an early close) while it runs.
const refreshEvery = time.Second

// Filter is the in-memory index of active collection targets: for each
// target account, the spans (and cases) in which its message pairs may be
// collected. It sits on the platform's message path, so a lookup is two
// map probes keyed by the account string and a scan of a few spans, with
// no allocation. The index is immutable and swapped whole on a reload, so
// readers never lock.
type Filter struct {
	idx atomic.Pointer[index]
	mu  sync.Mutex // one swap at a time, never held across a read
}

type index struct {
	version  int64
	loadedAt time.Time
	targets  map[string][]span
}

// span is one window of one target, in Unix nanoseconds, [from, to).
type span struct {
	from, to int64
	caseID   int64
}

// newIndex indexes the message_pairs windows among ws.
func newIndex(version int64, loadedAt time.Time, ws []Window) *index {
	ix := &index{version: version, loadedAt: loadedAt, targets: make(map[string][]span, len(ws))}
	for _, w := range ws {
		if w.Category != cases.MessagePairs || !w.EndsAt.After(w.OpensAt) {
			continue
		}
		ix.targets[w.Target] = append(ix.targets[w.Target], span{w.OpensAt.UnixNano(), w.EndsAt.UnixNano(), w.CaseID})
	}
	return ix
}

// match appends to dst the cases for which an event from → to stamped at
// is collected, each once, and returns dst.
func (ix *index) match(from, to []byte, at int64, dst []int64) []int64 {
	if len(ix.targets) == 0 {
		return dst
	}
	for _, sp := range ix.targets[string(from)] {
		if at >= sp.from && at < sp.to {
			dst = appendOnce(dst, sp.caseID)
		}
	}
	for _, sp := range ix.targets[string(to)] {
		if at >= sp.from && at < sp.to {
			dst = appendOnce(dst, sp.caseID)
		}
	}
	return dst
}

func appendOnce(dst []int64, id int64) []int64 {
	for _, x := range dst {
		if x == id {
			return dst
		}
	}
	return append(dst, id)
}

// Targets counts the accounts the filter currently watches.
func (f *Filter) Targets() int {
	if ix := f.idx.Load(); ix != nil {
		return len(ix.targets)
	}
	return 0
}

// Match reports the cases for which an event from → to stamped at is
// collected, appended to dst. It does not judge the clock: see ClockSkew.
func (f *Filter) Match(from, to string, at time.Time, dst []int64) []int64 {
	ix := f.idx.Load()
	if ix == nil {
		return dst
	}
	return ix.match([]byte(from), []byte(to), at.UnixNano(), dst)
}

// Filter returns the store's collection filter, loaded from the database.
func (s *Store) Filter(ctx context.Context) (*Filter, error) {
	_, err := s.index(ctx)
	return s.filter, err
}

// index returns a current index, reloaded when the windows changed (their
// version moved) or when the loaded one is a minute old (windows past their
// late grace then leave it). Checking the version is one small query:
// collection does it once per stream and then every refreshEvery.
func (s *Store) index(ctx context.Context) (*index, error) {
	v, err := stateVersion(ctx, s.db.Reader(), s.db.Dialect, false)
	if err != nil {
		return nil, err
	}
	return s.reload(ctx, s.db.Reader(), v)
}

// reload returns the index of version v, reading the windows that can still
// keep events unless the loaded index is that version and fresh. v is read
// before the windows, so a change racing the read is caught by the next
// version check rather than lost.
//
// No lock is held while the windows are read: a collector reloads inside
// its transaction, holding a connection and the collection state, and a
// reload that held the lock while it waited for a connection could wait for
// ever behind the writers queued on that very collector (on PostgreSQL,
// where reads and writes share one pool; found by the soak test of
// cmd/envelope). Two reloads at once cost a second read; the newer index
// is kept.
func (s *Store) reload(ctx context.Context, q queryer, v int64) (*index, error) {
	now := s.db.Now()
	if ix := s.filter.idx.Load(); ix != nil && ix.version == v && now.Sub(ix.loadedAt) < time.Minute {
		return ix, nil
	}
	var ws []Window
	if err := selectWindows(ctx, q, &ws, "category = ? AND ends_at > ? AND ends_at > opens_at",
		cases.MessagePairs, now.Add(-LateGrace)); err != nil {
		return nil, err
	}
	ix := newIndex(v, now, ws)
	s.filter.mu.Lock()
	if cur := s.filter.idx.Load(); cur == nil || cur.version < v || (cur.version == v && cur.loadedAt.Before(now)) {
		s.filter.idx.Store(ix)
	}
	s.filter.mu.Unlock()
	return ix, nil
}

func selectWindows(ctx context.Context, q queryer, dst *[]Window, where string, args ...any) error {
	rows, err := q.QueryxContext(ctx, q.Rebind("SELECT "+windowColumns+" FROM collection_windows WHERE "+where), args...)
	if err != nil {
		return fmt.Errorf("read collection windows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var w Window
		if err := rows.StructScan(&w); err != nil {
			return fmt.Errorf("read collection windows: %w", err)
		}
		w.utc()
		*dst = append(*dst, w)
	}
	return rows.Err()
}
