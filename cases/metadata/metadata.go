// Package metadata is envelope's platform metadata store: the non-content
// records of the accounts named in cases (subscribers, IP sessions,
// devices, profiles, groups, linked accounts, enforcement history,
// contacts, message pairs), prospective collection of message pairs for
// pen register and foreign prospective orders, and preservation holds.
//
// Content never enters it. Every record kind is a Go struct without a
// content field, and lines are decoded member by member into those structs
// only: a member that is not a field of its kind (a message "body") is
// skipped by the parser without being copied, so it cannot be stored.
//
// The tables live in the case store's database (SQLite or PostgreSQL), so
// that opening a collection window commits with the approval that opens it.
package metadata

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
)

// Store reads and writes metadata records, collection windows, collected
// message pairs and preservation holds in the case store's database.
type Store struct {
	db     *store.DB
	filter *Filter
}

var (
	storesMu sync.Mutex
	stores   = map[*store.DB]*Store{}
)

// New returns the metadata store of db. The first call for a DB registers
// the store's hooks on it: approving a case opens its collection windows and
// freezes its preservation copy, and closing a case ends its collection,
// each in the same transaction. Later calls return the same Store, so any
// number of callers may ask for it without stacking hooks, and all share one
// collection filter.
func New(db *store.DB) *Store {
	storesMu.Lock()
	defer storesMu.Unlock()
	if s, ok := stores[db]; ok {
		return s
	}
	s := &Store{db: db, filter: &Filter{}}
	db.OnApprove(s.onApprove)
	db.OnClose(s.onClose)
	db.OnReopen(s.onReopen)
	stores[db] = s
	return s
}

// onApprove runs inside the approval transaction of every case.
func (s *Store) onApprove(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case) error {
	if c.Decision == nil {
		return nil
	}
	if err := s.openWindows(ctx, tx, actor, c); err != nil {
		return err
	}
	return s.freeze(ctx, tx, actor, c)
}

// Records returns the stored records q selects.
func (s *Store) Records(ctx context.Context, q Query) ([]Record, error) {
	var out []Record
	err := eachRecord(ctx, s.db.Reader(), q, func(r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// ImportOptions tune Import.
type ImportOptions struct {
	// BatchSize is how many records one transaction writes (default 5000:
	// past that, commits no longer dominate).
	BatchSize int
	// OnError is told about each rejected line. Rejected lines are counted
	// whether or not it is set.
	OnError func(*LineError)
	// OnProgress is told the bytes read so far after each batch.
	OnProgress func(bytesRead int64)
}

// ImportSummary counts an import's lines. Every non-blank line read is
// either stored or rejected: Read == Stored + Rejected.
type ImportSummary struct {
	Read     int64 `json:"read"`
	Stored   int64 `json:"stored"`
	Rejected int64 `json:"rejected"`
}

// MaxRecordLine bounds one line of a metadata import. The longest record
// (a profile) is a few KiB; the bound is what keeps memory flat whatever
// the input.
const MaxRecordLine = 1 << 20

// Import reads NDJSON records from r and stores them in batches, each in
// one transaction. It streams: memory stays bounded by the batch and the
// longest line, whatever the input's size. A line that does not decode or
// validate is rejected (reported to OnError with its number) and the
// import goes on; a database failure stops it, and the summary then counts
// what the committed batches stored.
func (s *Store) Import(ctx context.Context, r io.Reader, opt ImportOptions) (ImportSummary, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 5000
	}
	var sum ImportSummary
	var dec Decoder
	lr := newLineReader(r, MaxRecordLine)
	batch := make([]Record, 0, opt.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.storeRecords(ctx, batch); err != nil {
			return err
		}
		sum.Stored += int64(len(batch))
		batch = batch[:0]
		if opt.OnProgress != nil {
			opt.OnProgress(lr.bytes)
		}
		return ctx.Err()
	}
	reject := func(err error) {
		sum.Rejected++
		if opt.OnError != nil {
			opt.OnError(&LineError{Line: lr.line, Err: err})
		}
	}
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return sum, err
		}
		if err == nil && len(line) == 0 {
			continue
		}
		sum.Read++
		if err != nil {
			reject(err)
			continue
		}
		rec, err := dec.Decode(line)
		if err != nil {
			reject(err)
			continue
		}
		if batch = append(batch, rec); len(batch) == opt.BatchSize {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

func (s *Store) storeRecords(ctx context.Context, recs []Record) error {
	now := s.db.Now()
	rows := map[Kind]*upsertRows{}
	for _, r := range recs {
		k := r.header().Kind
		if rows[k] == nil {
			rows[k] = newUpsertRows(k)
		}
		rows[k].add(values(r, now))
	}
	return s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		for _, k := range Kinds {
			if rows[k] != nil {
				if err := rows[k].exec(ctx, tx); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

var errLineTooLong = errors.New("line too long")

// lineReader reads NDJSON lines in place from a fixed buffer, numbering
// them. A line longer than the buffer is skipped whole and reported as
// errLineTooLong, so one bad line cannot make the reader grow.
type lineReader struct {
	r     *bufio.Reader
	line  int64 // the number of the line last returned
	bytes int64 // bytes consumed so far
	max   int
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, max), max: max}
}

// next returns the next line without its end-of-line and surrounding white
// space. The slice is valid until the following call. It returns io.EOF
// after the last line.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.r.ReadSlice('\n')
	lr.bytes += int64(len(line))
	switch {
	case err == nil:
	case errors.Is(err, bufio.ErrBufferFull):
		lr.line++
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = lr.r.ReadSlice('\n')
			lr.bytes += int64(len(line))
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: longer than %d bytes", errLineTooLong, lr.max)
	case errors.Is(err, io.EOF) && len(line) > 0:
		// The last line need not end in a newline.
	default:
		return nil, err
	}
	lr.line++
	return bytes.TrimSpace(line), nil
}
