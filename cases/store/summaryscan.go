package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Reading a page of case summaries, the portal's case list and dashboard
// panels, which every page of theirs reads: scanned by position rather
// than by sqlx's reflection over the whole listRow (a struct of every case
// column), and on SQLite packed into one text value a row.
//
// go-sqlite3 crosses from Go to C for each column of each row (its type,
// its bytes, its text) and allocates a string and an interface for each:
// eleven columns of 51 rows were some 1,700 cgo calls and 1,100
// allocations a page, more of the page's time than SQLite's walk of the
// index. One printf'd value a row is three calls and two allocations
// (docs/performance.md, "Case list over HTTP"). PostgreSQL's driver reads
// a row in one piece already and is scanned by position.

// packedSummary selects, on SQLite, summaryColumns and the sort columns as
// one value: "id,targets,received,due," then each text column as its
// length in bytes, ':' and the text, so no separator can be mistaken for
// one inside a value, and last the agency's name, the rest of the value.
// A NULL due date is empty.
const packedSummary = `printf('%d,%d,%s,%s,%d:%s%d:%s%d:%s%d:%s%d:%s%d:%s%s', id, target_count, received_at, COALESCE(due_at, ''),
	length(CAST(number AS BLOB)), number, length(CAST(status AS BLOB)), status,
	length(CAST(assignee AS BLOB)), assignee, length(CAST(agency_country AS BLOB)), agency_country,
	length(CAST(process_type AS BLOB)), process_type, length(CAST(outcome AS BLOB)), outcome,
	(SELECT name FROM agencies WHERE agencies.id = cases.agency_id))`

// scanSummaries appends the rows of a query of summaryColumns and the sort
// columns (packedSummary on SQLite) to rows.
func (db *DB) scanSummaries(ctx context.Context, rows *[]listRow, query string, args []any, n int) error {
	res, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer res.Close()
	*rows = slices.Grow(*rows, n)
	var packed string
	for res.Next() {
		// Scanned in place: a row scanned into a local would escape
		// (Scan takes its fields' addresses), one allocation a row.
		*rows = append(*rows, listRow{})
		r := &(*rows)[len(*rows)-1]
		if db.Dialect == SQLite {
			err = res.Scan(&packed)
			if err == nil {
				err = r.unpack(packed)
			}
		} else {
			err = res.Scan(&r.ID, &r.Number, &r.Status, &r.Assignee, &r.Country, &r.Process, &r.Targets, &r.Outcome,
				&r.AgencyName, &r.Received, &r.Due)
		}
		if err != nil {
			return err
		}
	}
	return res.Err()
}

// unpack reads a packedSummary value into r.
func (r *listRow) unpack(v string) error {
	p := packReader{v: v}
	r.ID = p.int()
	r.Targets = int(p.int())
	r.Received = p.time("received_at")
	if due := p.field(); due != "" {
		r.Due.Time, r.Due.Valid = p.parseTime("due_at", due), true
	}
	for _, s := range []*string{&r.Number, &r.Status, &r.Assignee, &r.Country, &r.Process, &r.Outcome} {
		*s = p.text()
	}
	r.AgencyName = p.v
	if p.err != nil {
		return fmt.Errorf("case summary %q: not a packed summary row: %w", v, p.err)
	}
	return nil
}

// packReader reads a packed row from the front; err is set once a part
// is not what it should be.
type packReader struct {
	v   string
	err error
}

// field reads up to the next comma.
func (p *packReader) field() string {
	i := strings.IndexByte(p.v, ',')
	if i < 0 {
		p.err = fmt.Errorf("missing field")
		return ""
	}
	s := p.v[:i]
	p.v = p.v[i+1:]
	return s
}

func (p *packReader) int() int64 {
	n, err := strconv.ParseInt(p.field(), 10, 64)
	if err != nil {
		p.err = err
	}
	return n
}

// time reads a time, the column's name for the error if it is none.
func (p *packReader) time(column string) time.Time { return p.parseTime(column, p.field()) }

// parseTime reads s as a time of column: one that does not parse is an
// error, as go-sqlite3's scan into a time.Time made it, not the zero time.
func (p *packReader) parseTime(column, s string) time.Time {
	t, ok := parseSQLiteTime(s)
	if !ok && p.err == nil {
		p.err = fmt.Errorf("%s %q is not a time", column, s)
	}
	return t
}

// text reads a length-prefixed text.
func (p *packReader) text() string {
	i := strings.IndexByte(p.v, ':')
	n, err := strconv.Atoi(p.v[:max(i, 0)])
	if i < 0 || err != nil || n < 0 || n > len(p.v)-i-1 {
		p.err = fmt.Errorf("bad text length")
		return ""
	}
	s := p.v[i+1 : i+1+n]
	p.v = p.v[i+1+n:]
	return s
}

// parseSQLiteTime reads a time as go-sqlite3 reads a TIMESTAMP column: in
// the first of its formats that fits, in UTC (the store opens SQLite with
// _loc=UTC); false if none does.
func parseSQLiteTime(s string) (time.Time, bool) {
	s = strings.TrimSuffix(s, "Z")
	for _, format := range sqlite3.SQLiteTimestampFormats {
		if t, err := time.ParseInLocation(format, s, time.UTC); err == nil {
			return t.In(time.UTC), true
		}
	}
	return time.Time{}, false
}
