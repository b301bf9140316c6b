package metadata

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases/store"
)

// This file is what the disclosure exporter (package exporter) reads the
// store through: column names and string values per record kind, and
// streaming reads of records and collected pairs. It only reads, so an
// export can never change what it exports.

// Columns returns the names, in order, of the values a record of kind k
// exports: "account", then the kind's fields under their JSON names.
func Columns(k Kind) []string {
	r := NewRecord(k)
	if r == nil {
		return nil
	}
	fs := r.fields()
	cols := make([]string, 0, len(fs)+1)
	cols = append(cols, "account")
	for i := range fs {
		cols = append(cols, fs[i].name)
	}
	return cols
}

// AppendValues appends r's values as strings, in Columns order, to dst.
// Times are RFC 3339 in UTC with as many fractional digits as they have; an
// absent optional time is "".
func AppendValues(dst []string, r Record) []string {
	dst = append(dst, r.header().Account)
	for _, f := range r.fields() {
		switch p := f.ptr.(type) {
		case *string:
			dst = append(dst, *p)
		case *int:
			dst = append(dst, strconv.Itoa(*p))
		case *time.Time:
			dst = append(dst, FormatTime(*p))
		case **time.Time:
			if *p == nil {
				dst = append(dst, "")
			} else {
				dst = append(dst, FormatTime(**p))
			}
		}
	}
	return dst
}

// FormatTime is how exported times are written: RFC 3339, UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// RecordTime returns the time a historical record is about (a session, an
// enforcement action, a message), and false for snapshot records, which
// no window limits.
func RecordTime(r Record) (time.Time, bool) {
	switch v := r.(type) {
	case *IPSession:
		return v.At, true
	case *Enforcement:
		return v.At, true
	case *Message:
		return v.At, true
	}
	return time.Time{}, false
}

// EachRecord calls fn with each stored record q selects, without holding
// them all: a category of millions of records streams.
func (s *Store) EachRecord(ctx context.Context, q Query, fn func(Record) error) error {
	return eachRecord(ctx, s.db.Reader(), q, fn)
}

// LastPairID returns the ID of the newest pair collected for a case: the
// cursor that splits one production of a prospective order from the next.
// It is read while holding the collection state row, which every collector
// takes (shared) before it inserts, so no insert with a smaller ID can
// still be in flight: a pair is either counted here or gets a larger ID.
func (s *Store) LastPairID(ctx context.Context, caseID int64) (int64, error) {
	var last int64
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		lock := ""
		if s.db.Dialect == store.Postgres {
			lock = " FOR UPDATE"
		}
		var v int64
		if err := tx.GetContext(ctx, &v, "SELECT version FROM collection_state WHERE id = 1"+lock); err != nil {
			return fmt.Errorf("read collection state: %w", err)
		}
		return tx.GetContext(ctx, &last, tx.Rebind("SELECT COALESCE(MAX(id), 0) FROM collected_pairs WHERE case_id = ?"), caseID)
	})
	if err != nil {
		return 0, fmt.Errorf("read the last collected pair: %w", err)
	}
	return last, nil
}

// EachPair calls fn with each pair collected for a case whose ID is in
// (after, through], in time order. It streams, and reuses one Pair: fn must
// copy what it keeps. CollectedAt is not read (the export does not need
// it, and parsing a second time a row is a fifth of the read's cost).
func (s *Store) EachPair(ctx context.Context, caseID, after, through int64, fn func(*Pair) error) error {
	q := s.db.Reader()
	// On SQLite the time is read as the text the driver stored and parsed
	// here by the collector's allocation-free parser: the driver's own
	// parsing tries layout after layout and was a third of a million-pair
	// export's time.
	atCol := "at"
	if s.db.Dialect == store.SQLite {
		atCol = "CAST(at AS TEXT)"
	}
	// The order follows the (case_id, at, from, to, kind) key, so the
	// database reads its index in order instead of sorting millions of rows.
	rows, err := q.QueryContext(ctx, q.Rebind(`SELECT from_account, to_account, `+atCol+`, kind
		FROM collected_pairs WHERE case_id = ? AND id > ? AND id <= ?
		ORDER BY case_id, at, from_account, to_account, kind`), caseID, after, through)
	if err != nil {
		return fmt.Errorf("read collected pairs: %w", err)
	}
	defer rows.Close()
	p := Pair{CaseID: caseID}
	var at any = &p.At
	var raw sql.RawBytes
	if s.db.Dialect == store.SQLite {
		at = &raw
	}
	for rows.Next() {
		if err := rows.Scan(&p.From, &p.To, at, &p.Kind); err != nil {
			return fmt.Errorf("read collected pairs: %w", err)
		}
		if s.db.Dialect == store.SQLite {
			if p.At, err = sqliteTime(raw); err != nil {
				return fmt.Errorf("read collected pairs: %w", err)
			}
		}
		p.At = p.At.UTC()
		if err := fn(&p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PairBytes is a collected pair as EachPairBytes reads it. From, To and
// Kind are the stored bytes, valid only until the callback returns.
type PairBytes struct {
	// At is the time as the database returned it as text; PairTime
	// parses it. Parsing is left to the caller so that a pipelined reader
	// can hand it to another goroutine with the rest of the row.
	At             []byte
	From, To, Kind []byte
}

// PairTime parses the At of a PairBytes into a UTC time.
func PairTime(b []byte) (time.Time, error) {
	t, err := sqliteTime(b)
	if err != nil {
		return time.Time{}, fmt.Errorf("collected pair time: %w", err)
	}
	return t.UTC(), nil
}

// pairSep separates the fields of a pair rendered as one column on SQLite.
// Collection refuses parties holding a byte <= ' ' (validParty) and kinds
// are fixed words, so it cannot occur inside a field; a row that still
// splits into other than four fields is an error, never a guess.
const pairSep = '\t'

// EachPairBytes is EachPair without the copies: fn receives each pair
// collected for a case whose ID is in (after, through], in time order, as
// the bytes the database returned, reusing one buffer (fn must copy what
// it keeps). It is the pen register export's hot path.
//
// On SQLite the database renders a chunk of rows as one text value (each
// row's at, from, to and kind joined by a tab, rows by a newline; see
// eachPairChunk): go-sqlite3 costs several cgo calls per row and column,
// which were most of a million-pair read. PostgreSQL's driver is not
// per-column bound; there the four columns are scanned into reused
// buffers.
func (s *Store) EachPairBytes(ctx context.Context, caseID, after, through int64, fn func(*PairBytes) error) error {
	if s.db.Dialect == store.SQLite {
		return s.eachPairChunk(ctx, caseID, after, through, func(chunk []byte, rows int) ([]byte, error) {
			if err := SplitPairs(chunk, rows, fn); err != nil {
				return nil, fmt.Errorf("read collected pairs of case %d: %w", caseID, err)
			}
			return chunk, nil
		})
	}
	return s.eachPairRows(ctx, caseID, after, through, fn)
}

// EachPairChunk is EachPairBytes a chunk at a time, for a reader and a
// writer on two goroutines: fn receives, in time order, chunks of the
// pairs as text (each pair's at, from, to and kind joined by a tab, pairs
// by a newline, no newline after the last) and how many pairs each holds,
// to split with SplitPairs. The chunk is fn's to keep; fn returns the
// buffer the next chunk is read into (nil: a new one). Handing the
// chunk over whole leaves the reader, the export's longer goroutine,
// only the database's work: splitting the pairs and copying them into
// the writer's batches was a fifth of its time. On SQLite the chunk is
// the text SQLite joined; on PostgreSQL the rows are joined the same way
// as they are read.
func (s *Store) EachPairChunk(ctx context.Context, caseID, after, through int64, fn func(chunk []byte, rows int) ([]byte, error)) error {
	if s.db.Dialect == store.SQLite {
		return s.eachPairChunk(ctx, caseID, after, through, fn)
	}
	var buf []byte
	n := 0
	err := s.eachPairRows(ctx, caseID, after, through, func(p *PairBytes) error {
		if n > 0 {
			buf = append(buf, '\n')
		}
		buf = append(append(append(append(append(append(append(buf, p.At...), pairSep), p.From...), pairSep), p.To...), pairSep), p.Kind...)
		if n++; n < pairChunk {
			return nil
		}
		var err error
		buf, err = fn(buf, n)
		buf, n = buf[:0], 0
		return err
	})
	if err == nil && n > 0 {
		_, err = fn(buf, n)
	}
	return err
}

// eachPairRows is EachPairBytes on PostgreSQL: the four columns scanned
// into reused buffers.
func (s *Store) eachPairRows(ctx context.Context, caseID, after, through int64, fn func(*PairBytes) error) error {
	q := s.db.Reader()
	// The order follows the (case_id, at, from, to, kind) key, so the
	// database reads its index in order instead of sorting millions of rows.
	rows, err := q.QueryContext(ctx, q.Rebind(`SELECT at, from_account, to_account, kind
		FROM collected_pairs WHERE case_id = ? AND id > ? AND id <= ?
		ORDER BY case_id, at, from_account, to_account, kind`), caseID, after, through)
	if err != nil {
		return fmt.Errorf("read collected pairs: %w", err)
	}
	defer rows.Close()
	var p PairBytes
	var at, from, to, kind sql.RawBytes
	for rows.Next() {
		// database/sql renders the driver's time.Time as RFC 3339.
		if err := rows.Scan(&at, &from, &to, &kind); err != nil {
			return fmt.Errorf("read collected pairs: %w", err)
		}
		p.At, p.From, p.To, p.Kind = at, from, to, kind
		if err := fn(&p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// pairChunk is how many pairs one SQLite query returns as one value.
const pairChunk = 4096

// eachPairChunk reads the pairs a chunk at a time, each chunk one query
// that returns one text value: the rows after the previous chunk's last
// key, in key order, joined inside SQLite (a query and a few cgo calls per
// 4,096 rows instead of per row). The key (case_id, at, from_account,
// to_account, kind) is unique, so continuing after the last row read
// loses and repeats nothing. Collection refuses parties holding a byte <=
// ' ' (validParty) and kinds are fixed words, so neither separator occurs
// inside a field; a chunk that still splits into other than the rows and
// fields it counted is an error, never a guess.
func (s *Store) eachPairChunk(ctx context.Context, caseID, after, through int64, fn func(chunk []byte, rows int) ([]byte, error)) error {
	q := s.db.Reader()
	const sel = `SELECT group_concat(line, char(10)), count(*) FROM (
		SELECT CAST(at AS TEXT) || char(9) || from_account || char(9) || to_account || char(9) || kind AS line
		FROM collected_pairs WHERE case_id = ? AND id > ? AND id <= ? %s
		ORDER BY case_id, at, from_account, to_account, kind LIMIT %d)`
	first := fmt.Sprintf(sel, "", pairChunk)
	next := fmt.Sprintf(sel, "AND (at, from_account, to_account, kind) > (?, ?, ?, ?)", pairChunk)
	var chunk []byte
	var last [4]string
	for n := 0; ; n++ {
		var count int
		var err error
		// The driver's text is valid only while the rows are open; the
		// chunk is copied into the buffer fn handed back.
		if n == 0 {
			err = queryChunk(ctx, q, first, &chunk, &count, caseID, after, through)
		} else {
			err = queryChunk(ctx, q, next, &chunk, &count, caseID, after, through, last[0], last[1], last[2], last[3])
		}
		if err != nil {
			return fmt.Errorf("read collected pairs: %w", err)
		}
		if count == 0 {
			return nil
		}
		// The next chunk continues after this one's last key, taken
		// before the chunk is handed over.
		f, err := pairFields(chunk[bytes.LastIndexByte(chunk, '\n')+1:])
		if err != nil {
			return fmt.Errorf("read collected pairs of case %d: %w", caseID, err)
		}
		last = [4]string{string(f[0]), string(f[1]), string(f[2]), string(f[3])}
		if chunk, err = fn(chunk, count); err != nil {
			return err
		}
		if count < pairChunk {
			return nil
		}
	}
}

// SplitPairs calls fn with each pair of a chunk of EachPairChunk, which
// holds rows pairs, reusing one PairBytes whose fields point into chunk.
// A chunk that splits into other than its rows, or a row into other than
// four fields, is an error, never a guess.
func SplitPairs(chunk []byte, rows int, fn func(*PairBytes) error) error {
	var p PairBytes
	rest, n := chunk, 0
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		f, err := pairFields(line)
		if err != nil {
			return err
		}
		p.At, p.From, p.To, p.Kind = f[0], f[1], f[2], f[3]
		n++
		if err := fn(&p); err != nil {
			return err
		}
	}
	if n != rows {
		return fmt.Errorf("a chunk held %d pairs, not %d", n, rows)
	}
	return nil
}

// pairFields splits one row of a chunk into its four fields.
func pairFields(line []byte) ([4][]byte, error) {
	var f [4][]byte
	tail := line
	for i := range 3 {
		j := bytes.IndexByte(tail, pairSep)
		if j < 0 {
			return f, fmt.Errorf("a row does not have four fields: %q", line)
		}
		f[i], tail = tail[:j], tail[j+1:]
	}
	if f[3] = tail; bytes.IndexByte(tail, pairSep) >= 0 {
		return f, fmt.Errorf("a row has a field holding a tab: %q", line)
	}
	return f, nil
}

// queryChunk runs one chunk's query and copies its text into *buf.
func queryChunk(ctx context.Context, q *sqlx.DB, query string, buf *[]byte, count *int, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	*count = 0
	*buf = (*buf)[:0]
	if rows.Next() {
		// A string destination takes the driver's string as it is; a
		// RawBytes one would copy it into a buffer of these rows, new
		// for every chunk, before the copy into buf. (No rows: NULL.)
		var text sql.NullString
		if err := rows.Scan(&text, count); err != nil {
			return err
		}
		*buf = append(*buf, text.String...)
	}
	return rows.Err()
}

// sqliteTime parses a time as go-sqlite3 stores it
// ("2006-01-02 15:04:05.999999999-07:00"), or in RFC 3339.
func sqliteTime(b []byte) (time.Time, error) {
	var buf [64]byte
	if len(b) > 10 && len(b) <= len(buf) && b[10] == ' ' {
		n := copy(buf[:], b)
		buf[10] = 'T'
		b = buf[:n]
	}
	ns, err := parseStamp(b)
	if err != nil {
		// string(b): passing b itself would move buf to the heap, an
		// allocation for every pair of an export.
		return time.Time{}, fmt.Errorf("%q: %w", string(b), err)
	}
	return stampTime(ns), nil
}
