package exporter

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
	"unicode/utf8"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/exporter/csvsafe"
)

// pairColumns are the columns of message_pairs: the collection event's
// fields. Stored message records are exported in the same shape, so a
// category has one layout whatever its source.
var pairColumns = []string{"at", "from", "to", "kind"}

// columnsOf returns the CSV header of a category.
func columnsOf(c cases.Category) []string {
	if c == cases.MessagePairs {
		return pairColumns
	}
	k, _ := metadata.KindOf(c)
	return metadata.Columns(k)
}

// fileSum is a written file's size and SHA-256.
type fileSum struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// hashedFile writes a file of the package's work directory through a
// buffer, hashing and counting what it writes, so no file is read twice.
type hashedFile struct {
	f    *os.File
	buf  *bufio.Writer
	h    hash.Hash
	size int64
	path string // its path inside the package
}

func createHashed(dir, path string) (*hashedFile, error) {
	full := filepath.Join(dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
		return nil, err
	}
	f, err := os.Create(full)
	if err != nil {
		return nil, err
	}
	hf := &hashedFile{f: f, h: sha256.New(), path: path}
	hf.buf = bufio.NewWriterSize(hf, 256<<10)
	return hf, nil
}

// Write is the buffer's sink: the file and the hash.
func (hf *hashedFile) Write(p []byte) (int, error) {
	hf.h.Write(p)
	hf.size += int64(len(p))
	return hf.f.Write(p)
}

// close flushes and closes the file and returns its sum.
func (hf *hashedFile) close() (fileSum, error) {
	err := hf.buf.Flush()
	if cerr := hf.f.Close(); err == nil {
		err = cerr
	}
	return fileSum{Path: hf.path, Size: hf.size, SHA256: hex.EncodeToString(hf.h.Sum(nil))}, err
}

// abort closes the file after a failure; the work directory is removed
// by the caller.
func (hf *hashedFile) abort() { hf.f.Close() }

// categoryWriter writes one category's records/<category>.csv and .json in
// one pass over its records, and keeps the first rows for the PDF.
type categoryWriter struct {
	cat      cases.Category
	csvFile  *hashedFile
	jsonFile *hashedFile
	csv      *csvsafe.Writer
	count    int64
	preview  [][]string
	maxRows  int
	row      []string // reused between rows
	jbuf     []byte   // reused between rows
}

func newCategoryWriter(dir string, cat cases.Category, previewRows int) (*categoryWriter, error) {
	cw := &categoryWriter{cat: cat, maxRows: previewRows}
	var err error
	if cw.csvFile, err = createHashed(dir, "records/"+string(cat)+".csv"); err != nil {
		return nil, err
	}
	if cw.jsonFile, err = createHashed(dir, "records/"+string(cat)+".json"); err != nil {
		cw.csvFile.abort()
		return nil, err
	}
	cw.csv = csvsafe.NewWriter(cw.csvFile.buf)
	cw.csv.Write(columnsOf(cat))
	cw.jsonFile.buf.WriteString("[")
	return cw, nil
}

// add writes one row: its CSV values and its JSON object (already
// encoded, without a trailing newline).
func (cw *categoryWriter) add(values []string, obj []byte) error {
	if err := cw.csv.Write(values); err != nil {
		return err
	}
	// One object a line: the file is a JSON array that line tools can
	// still split.
	if cw.count > 0 {
		cw.jsonFile.buf.WriteString(",")
	}
	cw.jsonFile.buf.WriteString("\n")
	cw.jsonFile.buf.Write(obj)
	cw.count++
	if len(cw.preview) < cw.maxRows {
		cw.preview = append(cw.preview, slices.Clone(values))
	}
	return nil
}

// close finishes both files and returns their sums, CSV first.
func (cw *categoryWriter) close() ([]fileSum, error) {
	cw.csv.Flush()
	if err := cw.csv.Error(); err != nil {
		cw.abort()
		return nil, err
	}
	if cw.count > 0 {
		cw.jsonFile.buf.WriteString("\n")
	}
	cw.jsonFile.buf.WriteString("]\n")
	c, err := cw.csvFile.close()
	if err != nil {
		cw.jsonFile.abort()
		return nil, err
	}
	j, err := cw.jsonFile.close()
	if err != nil {
		return nil, err
	}
	return []fileSum{c, j}, nil
}

func (cw *categoryWriter) abort() {
	cw.csvFile.abort()
	cw.jsonFile.abort()
}

// addRecord writes a stored record: the CSV values of its kind, and the
// record's JSON, which is the platform metadata record format of
// shared/spec/interfaces.md. Stored messages take the pair shape.
func (cw *categoryWriter) addRecord(r metadata.Record) error {
	if m, ok := r.(*metadata.Message); ok {
		return cw.addPair(m.At, m.From, m.To, m.MessageKind)
	}
	cw.row = metadata.AppendValues(cw.row[:0], r)
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode a %s record: %w", metadata.HeaderOf(r).Kind, err)
	}
	return cw.add(cw.row, b)
}

// addPair writes one message pair. It is the hot path of a pen register
// export (millions of rows), so its JSON is appended by hand, reusing one
// buffer, instead of going through reflection.
func (cw *categoryWriter) addPair(at time.Time, from, to, kind string) error {
	ts := metadata.FormatTime(at)
	cw.row = append(cw.row[:0], ts, from, to, kind)
	b := append(cw.jbuf[:0], `{"at":`...)
	b = appendJSONString(b, ts)
	b = append(b, `,"from":`...)
	b = appendJSONString(b, from)
	b = append(b, `,"to":`...)
	b = appendJSONString(b, to)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, kind)
	b = append(b, '}')
	cw.jbuf = b
	return cw.add(cw.row, b)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does (including <, > and & and the line separators), so the hand-written
// and the reflected encodings agree.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// scope is what one category of one production may hold: the case's
// targets, inside the allowed window (further narrowed, for a follow-up
// production of a prospective order, to what is new).
type scope struct {
	targets map[string]bool
	window  *cases.Window
}

// inWindow reports whether t is inside the scope's window (or there is
// none).
func (s *scope) inWindow(t time.Time) bool { return s.window == nil || s.window.Contains(t) }

// admits checks a stored record against the scope once more after the
// query selected it. The query already filters; this second, independent
// check is what makes a bug in a query unable to leak another account's
// records or records outside the window into evidence.
func (s *scope) admits(r metadata.Record) bool {
	h := metadata.HeaderOf(r)
	ok := s.targets[h.Account]
	switch v := r.(type) {
	case *metadata.Contact:
		// The catalogue's contacts include the address books that
		// hold a target.
		ok = ok || s.targets[v.Contact]
	case *metadata.Message:
		ok = s.targets[v.From] || s.targets[v.To]
	}
	if at, timed := metadata.RecordTime(r); timed && !s.inWindow(at) {
		return false
	}
	return ok
}

// admitsPair is admits for a collected pair read as bytes (string(b) in a
// map index does not allocate).
func (s *scope) admitsPair(at time.Time, from, to []byte) bool {
	return (s.targets[string(from)] || s.targets[string(to)]) && s.inWindow(at)
}

// writeCategory streams one category from the metadata store into its
// files. Collected pairs come from the case's own collection, between the
// production's pair cursors; everything else from the stored records.
func (b *Builder) writeCategory(ctx context.Context, cw *categoryWriter, p *Production, a cases.Allowed, sc *scope) error {
	var skipped int64
	if a.Category == cases.MessagePairs && a.Prospective {
		var err error
		if skipped, err = b.writePairs(ctx, cw, p, sc); err != nil {
			return err
		}
	} else {
		q := metadata.Query{Category: a.Category, Accounts: targetValues(p.Case), Window: sc.window}
		err := b.Meta.EachRecord(ctx, q, func(r metadata.Record) error {
			if !sc.admits(r) {
				skipped++
				return nil
			}
			return cw.addRecord(r)
		})
		if err != nil {
			return err
		}
	}
	if skipped > 0 {
		// A record the query selected but the scope refused means the
		// query and the scope disagree: a bug, reported, never exported.
		b.logf("export %s: %d %s records outside the decision's scope were left out", p.Case.Number, skipped, a.Category)
	}
	return nil
}

func targetValues(c *cases.Case) []string {
	out := make([]string, 0, len(c.Targets))
	for _, t := range c.Targets {
		out = append(out, t.Value)
	}
	return out
}

// copyFile copies a work file into the zip.
func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// pairChunks is how many chunks of pairs (metadata.EachPairChunk, 4,096
// pairs each) may wait between the database reader and the file writer.
const pairChunks = 4

// pairChunk is a chunk of pairs on its way to the writer.
type pairChunk struct {
	text []byte
	rows int
}

// writePairs streams the production's collected pairs into cw. Reading
// (mostly the database driver) and writing (CSV, JSON, hashing) run on two
// goroutines joined by a short queue of reused chunk buffers: a
// million-pair export takes the longer of the two instead of their sum,
// and memory stays bounded by the queue. The reader, the longer of the
// two, hands over each chunk as the database joined it; the writer
// splits it. It returns how many pairs the scope refused.
func (b *Builder) writePairs(ctx context.Context, cw *categoryWriter, p *Production, sc *scope) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan pairChunk, pairChunks)
	// Every buffer in circulation fits in free (the queue's, the one the
	// writer holds and the one the reader fills), so returning one never
	// blocks.
	free := make(chan []byte, pairChunks+2)
	for range pairChunks + 1 {
		free <- make([]byte, 0, 256<<10) // 4,096 pairs of some 57 bytes
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(full)
		readErr <- b.Meta.EachPairChunk(ctx, p.Case.ID, p.AfterPairID, p.LastPairID, func(text []byte, rows int) ([]byte, error) {
			select {
			case full <- pairChunk{text, rows}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			select {
			case buf := <-free:
				return buf, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
	}()
	var skipped int64
	var writeErr error
	for c := range full {
		if writeErr == nil {
			var pairErr error
			writeErr = metadata.SplitPairs(c.text, c.rows, func(pr *metadata.PairBytes) error {
				at, err := metadata.PairTime(pr.At)
				if err == nil && !sc.admitsPair(at, pr.From, pr.To) {
					skipped++
					return nil
				}
				if err == nil {
					err = cw.addPairBytes(at, pr.From, pr.To, pr.Kind)
				}
				pairErr = err
				return err
			})
			if writeErr != nil && pairErr == nil {
				writeErr = fmt.Errorf("read collected pairs of case %d: %w", p.Case.ID, writeErr)
			}
			if writeErr != nil {
				cancel() // the reader stops at its next chunk
			}
		}
		free <- c.text
	}
	if err := <-readErr; writeErr == nil && err != nil {
		return skipped, err
	}
	return skipped, writeErr
}

// addPairBytes is addPair for a pair read as bytes, without allocating:
// its CSV line and JSON object are appended straight into the free space
// of the files' buffers (AvailableBuffer), one Write a file a row rather
// than one a field (the per-call cost of sixteen small writes was a fifth
// of the writer's time). A field that encoding/csv would quote, or that
// JSON must escape, takes the general path (addPair's encoders), so the
// bytes are the same either way.
func (cw *categoryWriter) addPairBytes(at time.Time, from, to, kind []byte) error {
	if !plain(from) || !plain(to) || !plain(kind) {
		return cw.addPair(at, string(from), string(to), string(kind))
	}
	w := cw.csvFile.buf
	b := appendRFC3339NanoUTC(w.AvailableBuffer(), at)
	ts := b // the time, for the JSON and the preview (valid until w.Write)
	for _, v := range [...][]byte{from, to, kind} {
		b = append(b, ',')
		if len(v) > 0 && csvsafe.DangerousFirst(v[0]) {
			b = append(b, csvsafe.Prefix...) // as csvsafe.Writer does on the general path
		}
		b = append(b, v...)
	}
	b = append(b, '\n')

	j := cw.jsonFile.buf.AvailableBuffer()
	if cw.count > 0 {
		j = append(j, ',')
	}
	j = append(j, "\n{\"at\":\""...)
	j = append(j, ts...)
	j = append(j, "\",\"from\":\""...)
	j = append(j, from...)
	j = append(j, "\",\"to\":\""...)
	j = append(j, to...)
	j = append(j, "\",\"kind\":\""...)
	j = append(j, kind...)
	j = append(j, "\"}"...)
	if len(cw.preview) < cw.maxRows {
		cw.preview = append(cw.preview, []string{string(ts), string(from), string(to), string(kind)})
	}
	cw.count++
	w.Write(b)
	cw.jsonFile.buf.Write(j)
	return nil
}

// plainByte marks the bytes a field may hold to be written as it is in
// both files: printable ASCII without a space, and without what CSV quotes
// (, ") or JSON escapes (" \ < > &). Control bytes, newlines and
// non-ASCII bytes (which might start a Unicode space, which encoding/csv
// quotes) are not plain.
var plainByte = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = true
	}
	for _, c := range `,"\<>&` {
		t[c] = false
	}
	return t
}()

// plain reports whether b is written unchanged by both encoding/csv
// (fieldNeedsQuotes is false: no comma, quote, CR or LF, not \., no
// leading space) and appendJSONString (nothing to escape).
func plain(b []byte) bool {
	for _, c := range b {
		if !plainByte[c] {
			return false
		}
	}
	return true
}

// appendRFC3339NanoUTC appends t in UTC as t.UTC().AppendFormat(b,
// time.RFC3339Nano) does for years 0-9999 (the fraction without trailing
// zeros), without the general formatter's layout parsing, which was a
// tenth of a million-pair export (TestAppendRFC3339NanoUTC compares the
// two). Other years take the general path.
func appendRFC3339NanoUTC(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	hour, minute, sec := t.Clock()
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = two(two(b, year/100), year%100)
	b = two(append(b, '-'), int(month))
	b = two(append(b, '-'), day)
	b = two(append(b, 'T'), hour)
	b = two(append(b, ':'), minute)
	b = two(append(b, ':'), sec)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [9]byte
		for i := 8; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for frac[n-1] == '0' {
			n--
		}
		b = append(append(b, '.'), frac[:n]...)
	}
	return append(b, 'Z')
}
