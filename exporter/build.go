// Package exporter builds disclosure packages: the zip an approved case's
// data is produced in (shared/spec/interfaces.md, "A disclosure package").
//
// A package holds records/<category>.csv and .json for each category the
// case's decision allows, a PDF a court can read (cover letter, request,
// decision, one table per category, certificate of authenticity),
// manifest.json, SHA256SUMS and SHA256SUMS.sig, an Ed25519 signature of
// SHA256SUMS. Content cannot be in one: the exporter reads only the
// metadata store, whose record types have no content field, and only the
// categories, targets and windows the decision allows.
//
// Packages are built into a temporary file, moved into the packages
// directory, and only then recorded (packages table, audit event, case
// status produced) in one transaction, so a row always names a complete
// file. Prospective orders are produced again as pairs arrive: each
// production is a new numbered package covering only what is new.
package exporter

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/exporter/letters"
)

// Fixed names inside a package.
const (
	PDFFile      = "disclosure.pdf"
	ManifestFile = "manifest.json"
	SumsFile     = "SHA256SUMS"
	SigFile      = "SHA256SUMS.sig"
)

// Format names the package layout in manifest.json.
const Format = "envelope-disclosure-package/1"

// DefaultPDFRows is how many rows of a category the PDF prints before it
// refers the reader to the CSV: about 50 pages of a table, readable in
// court, while a pen register of millions of pairs stays in the CSV.
const DefaultPDFRows = 2000

// Builder builds packages from the metadata store.
type Builder struct {
	Meta   *metadata.Store
	Signer *Signer
	// PDFRows bounds the rows per category printed in the PDF (default
	// DefaultPDFRows).
	PDFRows int
	// TempDir holds work files while a package is built (default: the
	// system's temporary directory).
	TempDir string
	// Company names the producing party when no organisation profile is
	// saved (the page then says the profile is not set).
	Company string
	// Letters are the letter templates (default letters.Default()).
	Letters *letters.Set
	Logger  *slog.Logger
	// Prover adds the case's audit events and their proofs (proof.go);
	// nil for a builder without a database.
	Prover *Prover
}

func (b *Builder) logf(format string, args ...any) {
	l := b.Logger
	if l == nil {
		l = slog.Default()
	}
	l.Warn(fmt.Sprintf(format, args...))
}

// Production is one production of a case: which package it is, and which
// part of a prospective order's data it covers.
type Production struct {
	Case *cases.Case
	Seq  int // 1 for the first package of a case
	// AfterPairID and LastPairID bound the collected pairs covered: IDs in
	// (AfterPairID, LastPairID].
	AfterPairID, LastPairID int64
	// Since is, for a follow-up production, when the previous one covered
	// prospective records up to; zero for the first.
	Since time.Time
	// At is the production time: prospective records are covered up to it.
	At time.Time
	By string
	// Org is the organisation profile the production is made under.
	Org *cases.Org
}

// Manifest is manifest.json.
type Manifest struct {
	Format        string            `json:"format"`
	Case          ManifestCase      `json:"case"`
	Package       ManifestPackage   `json:"package"`
	Decision      *cases.Decision   `json:"decision"`
	PolicyVersion string            `json:"policy_version"`
	Categories    []CategorySummary `json:"categories"`
	// Files lists every file but manifest.json, SHA256SUMS and its
	// signature, which cover the manifest in turn.
	Files []fileSum `json:"files"`
	// SigningKey is the fingerprint (SHA-256 of the DER public key) of
	// the key that signed SHA256SUMS.
	SigningKey string `json:"signing_key_sha256"`
}

// ManifestCase identifies the case and the request it answers.
type ManifestCase struct {
	ID               int64             `json:"id"`
	Number           string            `json:"number"`
	Agency           cases.Agency      `json:"agency"`
	Requester        cases.Requester   `json:"requester"`
	ProcessType      cases.ProcessType `json:"process_type"`
	IssuingAuthority string            `json:"issuing_authority"`
	Reference        string            `json:"reference"`
	Targets          []cases.Target    `json:"targets"`
	ApprovedBy       string            `json:"approved_by,omitempty"`
	ApprovedAt       *time.Time        `json:"approved_at,omitempty"`
}

// ManifestPackage says which production this is.
type ManifestPackage struct {
	Sequence  int       `json:"sequence"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// Pairs are the collected pair IDs covered: (after, through].
	PairsAfter   int64      `json:"pairs_after_id"`
	PairsThrough int64      `json:"pairs_through_id"`
	CoversFrom   *time.Time `json:"covers_from,omitempty"`
	CoversUntil  time.Time  `json:"covers_until"`
}

// CategorySummary is one allowed category of the decision as produced.
type CategorySummary struct {
	Category    cases.Category `json:"category"`
	Rule        string         `json:"rule"`
	Window      *cases.Window  `json:"window,omitempty"`
	Prospective bool           `json:"prospective,omitempty"`
	Records     int64          `json:"records"`
	// Note explains a category this package does not hold (produced in
	// the first package of the case).
	Note  string   `json:"note,omitempty"`
	Files []string `json:"files,omitempty"`
}

// Result is what Build returns.
type Result struct {
	Manifest *Manifest
	Records  int64 // records in all categories
}

// Build writes the package of production p as a zip to w. The case must
// carry its decision.
func (b *Builder) Build(ctx context.Context, p *Production, w io.Writer) (*Result, error) {
	c := p.Case
	if c.Decision == nil {
		return nil, cases.Errorf(cases.ECONFLICT, "case %s has no decision to produce under", c.Number)
	}
	work, err := os.MkdirTemp(b.TempDir, "envelope-export-*")
	if err != nil {
		return nil, fmt.Errorf("create a work directory: %w", err)
	}
	defer os.RemoveAll(work)

	m := &Manifest{
		Format:        Format,
		Case:          manifestCase(c),
		Decision:      c.Decision,
		PolicyVersion: c.Decision.PolicyVersion,
		SigningKey:    b.Signer.Fingerprint(),
		Package: ManifestPackage{
			Sequence: p.Seq, CreatedAt: p.At, CreatedBy: p.By,
			PairsAfter: p.AfterPairID, PairsThrough: p.LastPairID, CoversUntil: p.At,
		},
	}
	if !p.Since.IsZero() {
		since := p.Since
		m.Package.CoversFrom = &since
	}
	var tables []*table
	res := &Result{Manifest: m}
	for _, a := range c.Decision.Allowed {
		sum, tbl, err := b.category(ctx, work, p, a)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", a.Category, err)
		}
		m.Categories = append(m.Categories, sum.summary)
		m.Files = append(m.Files, sum.files...)
		res.Records += sum.summary.Records
		if tbl != nil {
			tables = append(tables, tbl)
		}
	}

	if b.Prover != nil {
		sums, err := b.Prover.write(ctx, work, c)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, sums...)
	}
	pdfSum, err := b.writePDF(work, p, m, tables)
	if err != nil {
		return nil, err
	}
	m.Files = append([]fileSum{pdfSum}, m.Files...)
	manifestJSON, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	manifestJSON = append(manifestJSON, '\n')

	sums := sumsFile(append(slicesClone(m.Files), sumOf(ManifestFile, manifestJSON)))
	sig := b.Signer.Sign(sums)
	if err := writeZip(w, work, p.At, m.Files, manifestJSON, sums, sig); err != nil {
		return nil, err
	}
	return res, nil
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

func manifestCase(c *cases.Case) ManifestCase {
	mc := ManifestCase{
		ID: c.ID, Number: c.Number, Agency: c.Agency, Requester: c.Requester,
		ProcessType: c.Process.Type, IssuingAuthority: c.Process.IssuingAuthority,
		Reference: c.Process.Reference, Targets: c.Targets,
	}
	if c.Review != nil && c.Review.Verdict == cases.StatusApproved {
		at := c.Review.At
		mc.ApprovedBy, mc.ApprovedAt = c.Review.By, &at
	}
	return mc
}

type categoryResult struct {
	summary CategorySummary
	files   []fileSum
}

// category exports one allowed category. A follow-up production of a
// prospective order holds only its prospective categories, and of those
// only what is new; the other categories were produced in package 1.
func (b *Builder) category(ctx context.Context, work string, p *Production, a cases.Allowed) (*categoryResult, *table, error) {
	r := &categoryResult{summary: CategorySummary{Category: a.Category, Rule: a.Rule, Window: a.Window, Prospective: a.Prospective}}
	if a.Category == cases.MessageContent || !a.Category.Valid() {
		// The policy never allows content; if a decision ever did,
		// there is still nothing to read it from.
		r.summary.Note = "not a metadata category: nothing can be produced"
		return r, nil, nil
	}
	if p.Seq > 1 && !a.Prospective {
		r.summary.Note = "produced in package 1 of this case; not repeated"
		return r, nil, nil
	}
	sc := &scope{targets: map[string]bool{}, window: b.window(p, a)}
	for _, t := range p.Case.Targets {
		sc.targets[t.Value] = true
	}
	rows := b.PDFRows
	if rows <= 0 {
		rows = DefaultPDFRows
	}
	cw, err := newCategoryWriter(work, a.Category, rows)
	if err != nil {
		return nil, nil, err
	}
	if err := b.writeCategory(ctx, cw, p, a, sc); err != nil {
		cw.abort()
		return nil, nil, err
	}
	if r.files, err = cw.close(); err != nil {
		return nil, nil, err
	}
	r.summary.Records = cw.count
	for _, f := range r.files {
		r.summary.Files = append(r.summary.Files, f.Path)
	}
	return r, &table{summary: r.summary, columns: columnsOf(a.Category), rows: cw.preview, files: r.files}, nil
}

// window is the part of an allowance a production covers. Prospective
// records are covered up to the production time, and a follow-up
// production starts where the previous one stopped. Collected pairs are
// split between productions by their IDs instead (a late event stamped
// before the previous production still arrives after it), so their
// window is the allowed one.
func (b *Builder) window(p *Production, a cases.Allowed) *cases.Window {
	if !a.Prospective || a.Category == cases.MessagePairs {
		return a.Window
	}
	w := cases.Window{From: time.Time{}, To: p.At}
	if a.Window != nil {
		w = *a.Window
		if p.At.Before(w.To) {
			w.To = p.At
		}
	}
	if p.Since.After(w.From) {
		w.From = p.Since
	}
	if w.To.Before(w.From) {
		w.To = w.From // empty
	}
	return &w
}

func sumOf(path string, data []byte) fileSum {
	h := sha256.Sum256(data)
	return fileSum{Path: path, Size: int64(len(data)), SHA256: hex.EncodeToString(h[:])}
}

// sumsFile renders SHA256SUMS in sha256sum's text format ("HASH  PATH"),
// sorted by path, so `sha256sum -c SHA256SUMS` checks it in the unzipped
// folder.
func sumsFile(files []fileSum) []byte {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var buf bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&buf, "%s  %s\n", f.SHA256, f.Path)
	}
	return buf.Bytes()
}

// writeZip assembles the package. Entries carry the production time, so
// the same production gives the same bytes. Records are compressed at the
// fastest level: a pen register's CSV compresses well anyway, and the best
// level would triple the export time of a million pairs.
func writeZip(w io.Writer, work string, at time.Time, files []fileSum, manifestJSON, sums, sig []byte) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	add := func(name string, fill func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: at.UTC()})
		if err != nil {
			return err
		}
		if err := fill(fw); err != nil {
			return fmt.Errorf("add %s to the package: %w", name, err)
		}
		return nil
	}
	for _, f := range files {
		path := filepath.Join(work, filepath.FromSlash(f.Path))
		if err := add(f.Path, func(w io.Writer) error { return copyFile(w, path) }); err != nil {
			return err
		}
	}
	for _, e := range []struct {
		name string
		data []byte
	}{{ManifestFile, manifestJSON}, {SumsFile, sums}, {SigFile, sig}} {
		data := e.data
		if err := add(e.name, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return err
		}
	}
	return zw.Close()
}

// validName reports whether name is a package file name envelope makes:
// the case number, a dash, the sequence and .zip; nothing that could
// climb out of the packages directory.
func validName(name string) bool {
	if !strings.HasSuffix(name, ".zip") || len(name) > 100 {
		return false
	}
	for _, r := range strings.TrimSuffix(name, ".zip") {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// FileName is the file name of a case's seq-th package: the case number,
// the sequence and the start of the package's SHA-256. The hash makes the
// name unique, so two productions racing for one sequence number never
// write the same file (the database then keeps one of them).
func FileName(c *cases.Case, seq int, sha256Hex string) string {
	return fmt.Sprintf("%s-%03d-%s.zip", c.Number, seq, sha256Hex[:12])
}
