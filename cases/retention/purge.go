package retention

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/blob"
	"envelope/cases/jobs"
	"envelope/cases/store"
)

// Actor is who scheduled purges are audited as.
const Actor = cases.System + ":retention"

// What a purge did to a case.
const (
	KindPairs = "pairs" // collected pairs past Settings.Pairs
	KindCase  = "case"  // a closed case past Settings.Closed
)

// Purged is what a purge did (in a dry run: would do) to one case: counts
// and names, never contents. It is also the payload of the case's audit
// event (retention.purge_pairs, retention.purge_case).
type Purged struct {
	CaseID int64  `json:"case_id"`
	Case   string `json:"case"`
	Kind   string `json:"kind"`
	// Before is the cutoff: pairs collected, or the case closed, before it.
	Before time.Time `json:"before"`
	Retain string    `json:"retain"`
	Pairs  int64     `json:"pairs_deleted"`
	// The rest are for closed cases only.
	PreservedRecords int64    `json:"preserved_records_deleted,omitempty"`
	Document         bool     `json:"document_deleted,omitempty"`
	PackageFiles     []string `json:"package_files_deleted,omitempty"`
	// Copies of the case's files kept elsewhere: the PDFs attached to its
	// agency thread, and those attached to mail sent about it (a user
	// notice carries a copy of the process). The messages themselves stay.
	ThreadFiles     int64 `json:"thread_files_deleted,omitempty"`
	MailAttachments int64 `json:"mail_attachments_deleted,omitempty"`
	// The case's other documents (case_attachments): amendments,
	// extensions, correspondence, and each process document an upload
	// superseded, which is the order itself as first received.
	Attachments int64 `json:"attachments_deleted,omitempty"`
}

// Skipped is a case a purge would have touched but left alone, and why.
type Skipped struct {
	CaseID int64  `json:"case_id"`
	Case   string `json:"case"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Report is the outcome of one purge.
type Report struct {
	At      time.Time `json:"at"`
	DryRun  bool      `json:"dry_run"`
	Purged  []Purged  `json:"purged"`
	Skipped []Skipped `json:"skipped"`
}

// Purger applies retention Settings to a database.
type Purger struct {
	DB       *store.DB
	Settings Settings
	// Blobs is the blob store packages are kept in (the exporter's): the
	// packages of purged closed cases are deleted from it. Nil leaves
	// them alone.
	Blobs blob.Store
	// PackageDir is this instance's packages folder, where copies handed
	// to the operator and packages of an earlier envelope may be: they
	// are deleted from it too. Empty leaves the folder alone.
	PackageDir string
	// Actor is who the audit events name; default Actor.
	Actor  string
	Logger *slog.Logger
}

// Purge deletes, as of now, what the settings let go; with dryRun it only
// reports what it would delete, through a read-only transaction that
// cannot write. Each case is purged in its own transaction together with
// its audit event, so a crash leaves every case purged or untouched. A
// case that fails is skipped and its error joined to the one returned;
// the report holds what was done.
//
// Collected pairs may go once collected more than Settings.Pairs before
// now if a package already covers them (their ID is at most the case's
// newest package's last_pair_id) or their case is closed or rejected:
// pairs that were never disclosed and still may be are kept. A closed case
// loses its sensitive data once closed more than Settings.Closed before
// now, unless its preservation still runs. A case under a legal hold is
// left entirely alone.
func (p *Purger) Purge(ctx context.Context, now time.Time, dryRun bool) (*Report, error) {
	if err := p.Settings.Validate(); err != nil {
		return nil, err
	}
	now = now.UTC()
	rep := &Report{At: now, DryRun: dryRun, Purged: []Purged{}, Skipped: []Skipped{}}
	var errs []error
	// Closed cases first: a case purged whole needs no pairs purge after,
	// and a dry run then does not count its pairs twice.
	if p.Settings.Closed > 0 {
		errs = append(errs, p.each(ctx, rep, KindCase, closedDue, pass{now, now.Add(-p.Settings.Closed), dryRun}, p.purgeCase))
	}
	if p.Settings.Pairs > 0 {
		errs = append(errs, p.each(ctx, rep, KindPairs, pairsDue, pass{now, now.Add(-p.Settings.Pairs), dryRun}, p.purgePairs))
	}
	if !dryRun {
		errs = append(errs, p.deleteFiles(ctx))
	}
	return rep, errors.Join(errs...)
}

// pairsDue lists the cases holding pairs collected before the cutoff that
// purgePairs would delete: any such pair once the case is closed or
// rejected, else those a package covers. A case whose old pairs were never
// disclosed is left out, or it would cost a write transaction every hour
// to delete nothing. (Without an index on collected_at this reads the
// table once; a purge runs hourly. See docs/retention.md for the figures.)
const pairsDue = `SELECT DISTINCT cp.case_id FROM collected_pairs cp JOIN cases c ON c.id = cp.case_id
	WHERE cp.collected_at < ? AND (c.status IN ('closed', 'withdrawn', 'rejected')
		OR cp.id <= (SELECT MAX(p.last_pair_id) FROM packages p WHERE p.case_id = cp.case_id))
	ORDER BY cp.case_id`

// closedDue lists the closed cases (a withdrawn case is closed by the
// agency) closed before the cutoff and not yet
// purged (a case imported closed without a close time counts from its
// last update), and the purged cases that received pairs since: a late
// batch stamped inside a window can still be kept after the close.
const closedDue = `SELECT id FROM cases WHERE status IN ('closed', 'withdrawn') AND purged_at IS NULL AND COALESCE(closed_at, updated_at) < ?
	UNION
	SELECT DISTINCT w.case_id FROM collection_windows w JOIN cases c ON c.id = w.case_id
	WHERE c.purged_at IS NOT NULL AND EXISTS (SELECT 1 FROM collected_pairs cp WHERE cp.case_id = w.case_id)
	ORDER BY 1`

// pass is one purge's time, cutoff (data older than it may go) and mode.
type pass struct {
	now, cutoff time.Time
	dry         bool
}

// casePurge purges one case in tx; it returns what it did, or why it left
// the case alone, or neither when there was nothing to do.
type casePurge func(ctx context.Context, tx *sqlx.Tx, st *caseState, ps pass) (*Purged, string, error)

// each runs purge on every case listed by query, one transaction each. A
// case that fails is not logged here: its error, naming it, is returned
// and the caller reports it (Run logs it).
func (p *Purger) each(ctx context.Context, rep *Report, kind, query string, ps pass, purge casePurge) error {
	var ids []int64
	r := p.DB.Reader()
	if err := r.SelectContext(ctx, &ids, r.Rebind(query), ps.cutoff); err != nil {
		return fmt.Errorf("find cases to purge: %w", err)
	}
	purged := map[int64]bool{}
	for _, d := range rep.Purged {
		purged[d.CaseID] = true
	}
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if purged[id] {
			continue
		}
		var done *Purged
		var skipped string
		var st *caseState
		err := p.inCase(ctx, ps.dry, id, func(tx *sqlx.Tx) (err error) {
			if st, err = readCase(ctx, tx, id); err != nil {
				return err
			}
			if st.Held {
				skipped = "under a legal hold"
				return nil
			}
			done, skipped, err = purge(ctx, tx, st, ps)
			return err
		})
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("case %d: %w", id, err))
		case done != nil:
			rep.Purged = append(rep.Purged, *done)
		case skipped != "":
			rep.Skipped = append(rep.Skipped, Skipped{CaseID: id, Case: st.Number, Kind: kind, Reason: skipped})
		}
	}
	return errors.Join(errs...)
}

// inCase runs fn in a write transaction holding the case's row, or for a
// dry run in a read-only transaction on the read pool: there any write
// fails, so a dry run cannot change anything even by mistake.
func (p *Purger) inCase(ctx context.Context, dry bool, caseID int64, fn func(tx *sqlx.Tx) error) error {
	if !dry {
		return p.DB.Tx(ctx, func(tx *sqlx.Tx) error {
			if err := p.DB.LockCase(ctx, tx, caseID); err != nil {
				return err
			}
			return fn(tx)
		})
	}
	tx, err := p.DB.Reader().BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// caseState is what a purge reads of a case, under its lock.
type caseState struct {
	ID       int64        `db:"id"`
	Number   string       `db:"number"`
	Status   cases.Status `db:"status"`
	PurgedAt sql.NullTime `db:"purged_at"`
	Held     bool         `db:"held"`
	// LastPairID is the newest pair a package of the case covers.
	LastPairID int64 `db:"last_pair_id"`
}

func readCase(ctx context.Context, tx *sqlx.Tx, id int64) (*caseState, error) {
	var st caseState
	err := tx.GetContext(ctx, &st, tx.Rebind(`SELECT id, number, status, purged_at,
		CASE WHEN `+store.HeldSQL("cases.id")+` THEN 1 ELSE 0 END AS held,
		(SELECT COALESCE(MAX(p.last_pair_id), 0) FROM packages p WHERE p.case_id = cases.id) AS last_pair_id
		FROM cases WHERE id = ?`), id)
	if err != nil {
		return nil, fmt.Errorf("read case %d: %w", id, err)
	}
	return &st, nil
}

// purgePairs deletes a case's pairs collected before cutoff that may go:
// all of them once the case is closed or rejected, else only those a
// package covers.
func (p *Purger) purgePairs(ctx context.Context, tx *sqlx.Tx, st *caseState, ps pass) (*Purged, string, error) {
	through := st.LastPairID
	if ended(st.Status) || st.Status == cases.StatusRejected {
		through = math.MaxInt64
	}
	n, err := remove(ctx, tx, ps.dry, "collected_pairs", "case_id = ? AND collected_at < ? AND id <= ?", st.ID, ps.cutoff, through)
	if err != nil || n == 0 {
		return nil, "", err
	}
	done := &Purged{CaseID: st.ID, Case: st.Number, Kind: KindPairs, Before: ps.cutoff,
		Retain: FormatDuration(p.Settings.Pairs), Pairs: n}
	return done, "", p.audit(ctx, tx, ps.dry, "retention.purge_pairs", done)
}

// purgeCase deletes a closed case's sensitive data: its legal-process
// document, collected pairs, preserved records and package files (the
// files after the commit, by deleteFiles). It keeps the case row (the
// transparency report counts it), its notes, targets, decision and review,
// the packages' rows and hashes (the record of what was disclosed), and
// the audit log.
func (p *Purger) purgeCase(ctx context.Context, tx *sqlx.Tx, st *caseState, ps pass) (*Purged, string, error) {
	if !ended(st.Status) {
		return nil, "", nil
	}
	// A preservation is a legal duty (18 U.S.C. 2703(f)) with its own
	// end; closing the case does not end it.
	var until []time.Time
	if err := tx.SelectContext(ctx, &until, tx.Rebind(
		"SELECT preserve_until FROM preservations WHERE case_id = ? AND purged_at IS NULL AND preserve_until > ?"), st.ID, ps.now); err != nil {
		return nil, "", fmt.Errorf("read preservation: %w", err)
	}
	if len(until) > 0 {
		return nil, "preserved until " + until[0].UTC().Format(time.RFC3339), nil
	}
	done := &Purged{CaseID: st.ID, Case: st.Number, Kind: KindCase, Before: ps.cutoff, Retain: FormatDuration(p.Settings.Closed)}
	dry := ps.dry
	var err error
	var doc int64
	if err := p.trashBlobs(ctx, tx, dry, st.ID); err != nil {
		return nil, "", err
	}
	if doc, err = remove(ctx, tx, dry, "case_documents", "case_id = ?", st.ID); err != nil {
		return nil, "", err
	}
	done.Document = doc > 0
	if done.Attachments, err = remove(ctx, tx, dry, "case_attachments", "case_id = ?", st.ID); err != nil {
		return nil, "", err
	}
	if done.ThreadFiles, err = remove(ctx, tx, dry, "case_message_files", "case_id = ?", st.ID); err != nil {
		return nil, "", err
	}
	// Mail still queued keeps its attachments: it has not gone out yet,
	// and nothing is dropped unsent.
	if done.MailAttachments, err = remove(ctx, tx, dry, "mail_attachments",
		"mail_id IN (SELECT id FROM mail_queue WHERE case_id = ? AND status <> 'queued')", st.ID); err != nil {
		return nil, "", err
	}
	if done.Pairs, err = remove(ctx, tx, dry, "collected_pairs", "case_id = ?", st.ID); err != nil {
		return nil, "", err
	}
	if done.PreservedRecords, err = remove(ctx, tx, dry, "preserved_records",
		"preservation_id IN (SELECT id FROM preservations WHERE case_id = ?)", st.ID); err != nil {
		return nil, "", err
	}
	if !st.PurgedAt.Valid {
		if err := tx.SelectContext(ctx, &done.PackageFiles, tx.Rebind(
			"SELECT file_name FROM packages WHERE case_id = ? ORDER BY seq"), st.ID); err != nil {
			return nil, "", fmt.Errorf("list packages: %w", err)
		}
	} else if done.Pairs == 0 {
		return nil, "", nil // purged before, and nothing new since
	}
	if !dry {
		now := p.DB.Now()
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE preservations SET purged_at = ? WHERE case_id = ? AND purged_at IS NULL"), now, st.ID); err != nil {
			return nil, "", fmt.Errorf("mark preservation purged: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET purged_at = COALESCE(purged_at, ?) WHERE id = ?"), now, st.ID); err != nil {
			return nil, "", fmt.Errorf("mark case purged: %w", err)
		}
	}
	return done, "", p.audit(ctx, tx, dry, "retention.purge_case", done)
}

// trashBlobs queues the blobs of the case's documents and thread files,
// whose rows the purge deletes, for deletion from the blob store after
// the commit (deleteFiles).
func (p *Purger) trashBlobs(ctx context.Context, tx *sqlx.Tx, dry bool, caseID int64) error {
	if dry {
		return nil
	}
	var names []string
	if err := tx.SelectContext(ctx, &names, tx.Rebind(`SELECT blob FROM case_documents WHERE case_id = ? AND blob <> ''
		UNION SELECT blob FROM case_attachments WHERE case_id = ? AND blob <> ''
		UNION SELECT blob FROM case_message_files WHERE case_id = ? AND blob <> ''`), caseID, caseID, caseID); err != nil {
		return fmt.Errorf("list document blobs: %w", err)
	}
	return p.DB.TrashBlobs(ctx, tx, names...)
}

// ended reports whether a case is over as retention counts it: closed, or
// withdrawn by the agency, which stops it as a close does.
func ended(s cases.Status) bool { return s == cases.StatusClosed || s == cases.StatusWithdrawn }

// remove deletes the rows of table that where selects and returns how
// many; in a dry run it counts them instead.
func remove(ctx context.Context, tx *sqlx.Tx, dry bool, table, where string, args ...any) (int64, error) {
	if dry {
		var n int64
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM "+table+" WHERE "+where), args...); err != nil {
			return 0, fmt.Errorf("count %s: %w", table, err)
		}
		return n, nil
	}
	res, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM "+table+" WHERE "+where), args...)
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", table, err)
	}
	return res.RowsAffected()
}

func (p *Purger) audit(ctx context.Context, tx *sqlx.Tx, dry bool, action string, done *Purged) error {
	if dry {
		return nil
	}
	actor := p.Actor
	if actor == "" {
		actor = Actor
	}
	return p.DB.Audit(ctx, tx, actor, action, "case", strconv.FormatInt(done.CaseID, 10), nil, done)
}

// deleteFiles deletes the blobs of the documents purges deleted (queued in
// the database by trashBlobs, so the store is the DB's Files), and the
// package files of every purged case not under a legal hold, from the
// blob store and the instance's folder. A blob store
// need not be the database, so files go after the purge's commit;
// checking every purged case's packages on each run means a crash between
// the commit and the deletion is made good by the next.
func (p *Purger) deleteFiles(ctx context.Context) error {
	// The documents' blobs, queued by trashBlobs: a delete that fails
	// stays queued for the next run; its error is returned (Run logs it).
	n, err := p.DB.EmptyTrash(ctx)
	if n > 0 {
		p.logger().Info("retention purge: deleted document blobs", "deleted", n)
	}
	if err != nil {
		err = fmt.Errorf("delete document blobs: %w", err)
	}
	return errors.Join(err, p.deletePackages(ctx))
}

// deletePackages deletes the package files of every purged case not under
// a legal hold (deleteFiles).
func (p *Purger) deletePackages(ctx context.Context) error {
	if p.Blobs == nil && p.PackageDir == "" {
		return nil
	}
	var names []string
	r := p.DB.Reader()
	if err := r.SelectContext(ctx, &names, `SELECT p.file_name FROM packages p JOIN cases c ON c.id = p.case_id
		WHERE c.purged_at IS NOT NULL AND NOT `+store.HeldSQL("c.id")+` ORDER BY p.id`); err != nil {
		return fmt.Errorf("list purged packages: %w", err)
	}
	var errs []error
	for _, name := range names {
		if p.Blobs != nil {
			if err := p.Blobs.Delete(ctx, name); err != nil {
				errs = append(errs, fmt.Errorf("delete package %s: %w", name, err))
			}
		}
		if p.PackageDir == "" {
			continue
		}
		// Base: a name from the table can never point outside the directory.
		err := os.Remove(filepath.Join(p.PackageDir, filepath.Base(name)))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("delete package file: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Run purges as of the database's now, then again every interval, until
// ctx is done: the scheduled job `envelope serve` runs.
func (p *Purger) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var rep *Report
		ran, err := p.DB.Exclusive(ctx, "retention-purge", func(ctx context.Context) (err error) {
			rep, err = p.Purge(ctx, p.DB.Now(), false)
			return err
		})
		if ran {
			jobs.Ran("retention-purge", err)
		}
		if err != nil && ctx.Err() == nil {
			p.logger().Error("retention purge", "err", err)
		}
		if rep != nil && len(rep.Purged) > 0 {
			p.logger().Info("retention purge", "cases", len(rep.Purged), "skipped", len(rep.Skipped))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Purger) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}
