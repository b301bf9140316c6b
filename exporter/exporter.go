package exporter

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/auditlog"
	"envelope/cases/blob"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/policy/clock"
)

// Exporter produces, stores, lists and serves the packages of cases.
type Exporter struct {
	DB      *store.DB
	Builder *Builder
	// Blobs is where packages and letters are stored, the store every
	// instance reaches (by default the database).
	Blobs blob.Store
	// Dir is this instance's own folder: packages are built there before
	// they are stored in Blobs, the command line copies them there for
	// the operator, and packages an earlier envelope kept there are copied
	// into Blobs (legacy.go).
	Dir string
	// clocks are the clock rules whose holds export obeys (hold.go); nil:
	// the embedded default. Atomic: an activation on another instance
	// replaces them (cmd/envelope/follow.go) while exports run.
	clocks atomic.Pointer[clock.Clocks]
}

// SetClocks replaces the clock rules whose holds export obeys.
func (e *Exporter) SetClocks(c *clock.Clocks) { e.clocks.Store(c) }

// New returns an exporter that signs with the key in keyDir (generated on
// first use) and stores packages in the database, building them in
// packageDir. meta must be the process's one metadata store.
func New(db *store.DB, meta *metadata.Store, keyDir, packageDir string) (*Exporter, error) {
	return NewIn(db, meta, keyDir, packageDir, blob.Database{DB: db})
}

// NewIn is New with packages stored in blobs. Packages an earlier
// envelope kept in packageDir are copied into blobs first.
func NewIn(db *store.DB, meta *metadata.Store, keyDir, packageDir string, blobs blob.Store) (*Exporter, error) {
	signer, err := LoadOrCreateKey(keyDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(packageDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the packages directory: %w", err)
	}
	audit, err := auditlog.LoadOrCreateKey(keyDir)
	if err != nil {
		return nil, err
	}
	// One key pair for the deployment: an instance whose keys folder holds
	// other keys than those every other instance signs with is refused.
	ctx := context.Background()
	if err := db.BindKey(ctx, store.SettingSigningKey, signer.Fingerprint()); err != nil {
		return nil, fmt.Errorf("the signing key in %s: %w", keyDir, err)
	}
	if err := db.BindKey(ctx, store.SettingAuditKey, audit.VerifierKey()); err != nil {
		return nil, fmt.Errorf("the audit key in %s: %w", keyDir, err)
	}
	sweep(packageDir)
	if err := copyLegacy(ctx, db, blobs, packageDir); err != nil {
		return nil, err
	}
	return &Exporter{DB: db, Blobs: blobs, Dir: packageDir, Builder: &Builder{Meta: meta, Signer: signer, TempDir: packageDir,
		Prover: &Prover{DB: db, Key: audit}}}, nil
}

// Package is a produced package as the packages table records it.
type Package struct {
	ID           int64     `json:"id" db:"id"`
	CaseID       int64     `json:"case_id" db:"case_id"`
	Seq          int       `json:"sequence" db:"seq"`
	FileName     string    `json:"package" db:"file_name"`
	SHA256       string    `json:"sha256" db:"sha256"`
	Size         int64     `json:"size" db:"size"`
	Records      int64     `json:"records" db:"records"`
	LastPairID   int64     `json:"last_pair_id" db:"last_pair_id"`
	CoveredUntil time.Time `json:"covered_until" db:"covered_until"`
	CreatedBy    string    `json:"created_by" db:"created_by"`
	CreatedAt    time.Time `json:"created_at" db:"created_at"`
}

const packageColumns = "id, case_id, seq, file_name, sha256, size, records, last_pair_id, covered_until, created_by, created_at"

// Path returns where CopyOut puts a package in this instance's folder.
func (e *Exporter) Path(p *Package) string { return filepath.Join(e.Dir, p.FileName) }

// CopyOut copies the stored package or letter name to path (if empty, to
// name in the instance's folder), a new file, and returns the path: the
// command line hands packages to the operator as files.
func (e *Exporter) CopyOut(ctx context.Context, name, path string) (string, error) {
	if path != "" {
		return path, blob.Copy(ctx, e.Blobs, name, path)
	}
	path = filepath.Join(e.Dir, filepath.Base(name))
	if _, err := os.Stat(path); err == nil {
		return path, nil // copied out before; the name holds the hash
	}
	if err := blob.Copy(ctx, e.Blobs, name, path); err != nil {
		return path, err
	}
	return path, os.Chmod(path, 0o400) // a copy of evidence: read-only
}

// Exportable checks that a case can be produced now, and returns why not
// as an ECONFLICT error. prev is the case's newest package, if any.
func Exportable(c *cases.Case, prev *Package) error {
	switch {
	case c.Status != cases.StatusApproved && c.Status != cases.StatusProduced:
		return cases.Errorf(cases.ECONFLICT, "case %s is %s: only an approved case can be produced", c.Number, c.Status)
	case c.Review == nil || c.Review.Verdict != cases.StatusApproved:
		// Imported history carries a legacy tracker's status, not an
		// approval given here by a second person.
		return cases.Errorf(cases.ECONFLICT, "case %s was never approved in envelope (imported history is reported, never produced): only a case a second person approved here can be produced", c.Number)
	case c.Decision == nil:
		return cases.Errorf(cases.ECONFLICT, "case %s has no decision", c.Number)
	case c.Process.Type == cases.Preservation:
		return cases.Errorf(cases.ECONFLICT, "case %s is a preservation request: records are preserved, never produced", c.Number)
	case !disclosesAnything(c.Decision):
		return cases.Errorf(cases.ECONFLICT, "case %s: the decision allows no category to be produced", c.Number)
	case len(c.Targets) == 0:
		return cases.Errorf(cases.ECONFLICT, "case %s: every target is decided do-not-produce; end the case instead", c.Number)
	case prev != nil && !prospective(c.Decision):
		return cases.Errorf(cases.ECONFLICT, "case %s was produced in %s; only prospective orders are produced again", c.Number, prev.FileName)
	}
	return nil
}

// NoticeHold says, as an ECONFLICT error, that case c's production is held
// because the user must be notified first and no notice (or exception) is
// recorded yet; nil if it is not held.
func NoticeHold(ctx context.Context, db *store.DB, c *cases.Case) error {
	n, err := db.CaseNotice(ctx, c)
	if err != nil {
		return err
	}
	if n.State == cases.NoticeDue {
		return cases.Errorf(cases.ECONFLICT, "case %s: production is held until the user is notified (%s): record the notice sent, or an exception", c.Number, n.Why)
	}
	return nil
}

func disclosesAnything(d *cases.Decision) bool {
	for _, a := range d.Allowed {
		if a.Category.Valid() && a.Category != cases.MessageContent {
			return true
		}
	}
	return false
}

func prospective(d *cases.Decision) bool {
	for _, a := range d.Allowed {
		if a.Prospective {
			return true
		}
	}
	return false
}

// Export produces the next package of the case ref (an ID or a number) as
// actor: it builds the package into a temporary file, stores it in the
// blob store, and then, in one transaction, records it, audits the
// production (case.export: who, when, hash) and moves the case to
// produced. If the transaction fails the stored file is deleted, so the
// table and the store agree.
func (e *Exporter) Export(ctx context.Context, actor, ref string) (*Package, error) {
	return e.export(ctx, actor, ref, false, false)
}

// ExportIfRecords is Export, except that a package that would hold no
// records is not kept: it returns ErrNoRecords instead, so the user can
// confirm that the case is answered "no data found" (Export does so).
func (e *Exporter) ExportIfRecords(ctx context.Context, actor, ref string) (*Package, error) {
	return e.export(ctx, actor, ref, false, true)
}

// ErrNoRecords is ExportIfRecords's refusal of an empty package.
var ErrNoRecords = cases.Errorf(cases.ECONFLICT, "no records were found for the targets in the allowed categories: confirm to record the case as no data found")

// export is Export; with onlyNew (a scheduled production) it produces
// nothing, and returns a nil package, unless the case has a previous
// package, a prospective decision and pairs collected since: the
// schedule never makes a first or an empty package.
func (e *Exporter) export(ctx context.Context, actor, ref string, onlyNew, refuseEmpty bool) (*Package, error) {
	c, err := e.DB.Case(ctx, ref)
	if err != nil {
		return nil, err
	}
	// The package follows the reviewer's shaping of the decision exactly:
	// only the categories, window and targets it leaves.
	c = cases.ShapedCase(c)
	prev, err := e.latest(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if onlyNew && (prev == nil || c.Decision == nil || !prospective(c.Decision)) {
		return nil, nil
	}
	if err := Exportable(c, prev); err != nil {
		return nil, err
	}
	if err := e.clockHold(ctx, c); err != nil {
		return nil, err
	}
	if err := NoticeHold(ctx, e.DB, c); err != nil {
		return nil, err
	}
	org, _, err := e.DB.Org(ctx)
	if err != nil {
		return nil, err
	}
	p := &Production{Case: c, Seq: 1, At: e.DB.Now(), By: actor, Org: org}
	// An order that lapsed since its approval produces nothing. A later
	// production of a prospective order only delivers what was collected
	// inside its window, which ends at the expiry: it may follow it.
	if prev == nil {
		if err := cases.CheckInForce(c, p.At); err != nil {
			return nil, err
		}
	}
	if prev != nil {
		p.Seq, p.AfterPairID, p.Since = prev.Seq+1, prev.LastPairID, prev.CoveredUntil
		if p.At.Before(p.Since) {
			p.At = p.Since // a clock step backwards must not re-cover a period
		}
	}
	if p.LastPairID, err = e.Builder.Meta.LastPairID(ctx, c.ID); err != nil {
		return nil, err
	}
	p.LastPairID = max(p.LastPairID, p.AfterPairID)
	if onlyNew && (prev == nil || p.LastPairID == p.AfterPairID) {
		return nil, nil
	}

	pkg, err := e.build(ctx, p)
	if err != nil {
		return nil, err
	}
	if refuseEmpty && pkg.Records == 0 && c.Result != cases.ResultSomeData {
		e.Blobs.Delete(context.WithoutCancel(ctx), pkg.FileName)
		return nil, ErrNoRecords
	}
	if err := e.record(ctx, c, pkg); err != nil {
		e.Blobs.Delete(context.WithoutCancel(ctx), pkg.FileName)
		return nil, err
	}
	return pkg, nil
}

// build writes the package to a temporary file in the instance's folder,
// then streams it into the blob store under its final name (which holds
// its hash, known only once it is written).
func (e *Exporter) build(ctx context.Context, p *Production) (*Package, error) {
	tmp, err := os.CreateTemp(e.Dir, ".building-*.zip")
	if err != nil {
		return nil, fmt.Errorf("create the package file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h)}
	bw := bufio.NewWriterSize(cw, 256<<10)
	res, err := e.Builder.Build(ctx, p, bw)
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("write the package: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	pkg := &Package{
		CaseID: p.Case.ID, Seq: p.Seq, FileName: FileName(p.Case, p.Seq, sum), SHA256: sum, Size: cw.n,
		Records: res.Records, LastPairID: p.LastPairID, CoveredUntil: p.At, CreatedBy: p.By, CreatedAt: p.At,
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := e.Blobs.Put(ctx, pkg.FileName, tmp); err != nil {
		return nil, fmt.Errorf("store the package: %w", err)
	}
	return pkg, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// staleBuild is how old a temporary package file must be before New
// removes it: older than any build, so a build still running in another
// server sharing the directory (PostgreSQL deployments) is never touched.
const staleBuild = 24 * time.Hour

// sweep removes the temporary files of builds that a crash cut off. They
// were never listed or served; this only gives the disk back, so a file it
// cannot remove is left for the next start.
func sweep(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, ".building-*.zip")) // fails only on a bad pattern
	for _, n := range names {
		if fi, err := os.Stat(n); err == nil && time.Since(fi.ModTime()) >= staleBuild {
			os.Remove(n)
		}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// record writes the package's row, its audit event and the case's new
// status in one transaction.
func (e *Exporter) record(ctx context.Context, c *cases.Case, pkg *Package) error {
	db := e.DB
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		// NO KEY UPDATE holds off a close or another export as FOR
		// UPDATE would, but not a collector storing pairs of the case
		// (its foreign key check takes KEY SHARE on the case row): such a
		// collector holds the collection state, which an approval waits
		// for while holding the audit head this transaction needs next,
		// and FOR UPDATE here closed that cycle into a deadlock.
		lock := ""
		if db.Dialect == store.Postgres {
			lock = " FOR NO KEY UPDATE"
		}
		// The case may have been closed while its package was built.
		var status cases.Status
		if err := tx.GetContext(ctx, &status, tx.Rebind("SELECT status FROM cases WHERE id = ?"+lock), c.ID); err != nil {
			return fmt.Errorf("read case status: %w", err)
		}
		if status != cases.StatusApproved && status != cases.StatusProduced {
			return cases.Errorf(cases.ECONFLICT, "case %s became %s while its package was built", c.Number, status)
		}
		err := tx.GetContext(ctx, &pkg.ID, tx.Rebind(`INSERT INTO packages
			(case_id, seq, file_name, sha256, size, records, last_pair_id, covered_until, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			pkg.CaseID, pkg.Seq, pkg.FileName, pkg.SHA256, pkg.Size, pkg.Records, pkg.LastPairID,
			pkg.CoveredUntil, pkg.CreatedBy, pkg.CreatedAt)
		if err != nil {
			if isUniqueViolation(err) {
				return cases.Errorf(cases.ECONFLICT, "case %s: package %d was produced by someone else meanwhile; export again for the next one", c.Number, pkg.Seq)
			}
			return fmt.Errorf("record the package: %w", err)
		}
		if err := db.Audit(ctx, tx, pkg.CreatedBy, "case.export", "case", strconv.FormatInt(c.ID, 10), nil, map[string]any{
			"package": pkg.FileName, "sequence": pkg.Seq, "sha256": pkg.SHA256, "size": pkg.Size,
			"records": pkg.Records, "last_pair_id": pkg.LastPairID, "at": pkg.CreatedAt,
		}); err != nil {
			return err
		}
		c.Status = status
		return db.RecordProduction(ctx, tx, pkg.CreatedBy, c, pkg.Records)
	})
}

func isUniqueViolation(err error) bool {
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// Packages lists the packages of the case ref, oldest first.
func (e *Exporter) Packages(ctx context.Context, ref string) ([]*Package, error) {
	c, err := e.DB.Case(ctx, ref)
	if err != nil {
		return nil, err
	}
	return ListPackages(ctx, e.DB, c.ID)
}

// ListPackages lists the packages of a case, oldest first. It needs no
// signing key or packages directory, so the portal can show a case's
// packages without setting up exports.
func ListPackages(ctx context.Context, db *store.DB, caseID int64) ([]*Package, error) {
	r := db.Reader()
	var out []*Package
	if err := r.SelectContext(ctx, &out, r.Rebind("SELECT "+packageColumns+" FROM packages WHERE case_id = ? ORDER BY seq"), caseID); err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	for _, p := range out {
		p.utc()
	}
	return out, nil
}

func (p *Package) utc() { p.CoveredUntil, p.CreatedAt = p.CoveredUntil.UTC(), p.CreatedAt.UTC() }

func (e *Exporter) latest(ctx context.Context, caseID int64) (*Package, error) {
	r := e.DB.Reader()
	var p Package
	err := r.GetContext(ctx, &p, r.Rebind("SELECT "+packageColumns+" FROM packages WHERE case_id = ? ORDER BY seq DESC LIMIT 1"), caseID)
	if errors.Is(err, sqlErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read the last package: %w", err)
	}
	p.utc()
	return &p, nil
}

// Open returns a package of the case ref by its file name, and its
// content. Only names recorded in the packages table are served.
func (e *Exporter) Open(ctx context.Context, ref, name string) (*Package, io.ReadCloser, error) {
	if !validName(name) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "no package %q", name)
	}
	pkgs, err := e.Packages(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range pkgs {
		if p.FileName == name {
			f, _, err := e.Blobs.Open(ctx, p.FileName)
			if errors.Is(err, os.ErrNotExist) {
				// Deleted by retention (cases/retention): the row and its hash stay.
				return nil, nil, cases.Errorf(cases.ENOTFOUND, "the file of package %s is no longer kept", name)
			} else if err != nil {
				return nil, nil, fmt.Errorf("open package %s: %w", name, err)
			}
			return p, f, nil
		}
	}
	return nil, nil, cases.Errorf(cases.ENOTFOUND, "case %s has no package %q", ref, name)
}
