package metadata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/jobs"
	"envelope/cases/store"
)

// PreservationExtension is how long the one extension of a preservation
// hold adds (18 U.S.C. 2703(f): 90 days, extendable once by 90 days).
const PreservationExtension = 90 * 24 * time.Hour

// EUPreservationExtension is the one extension of an EU preservation order
// (Art. 11 of Regulation (EU) 2023/1543).
const EUPreservationExtension = 30 * 24 * time.Hour

// Preservation is the hold of an approved preservation request: a frozen
// copy of the requested categories' records of its targets, kept until
// PreserveUntil and then purged.
type Preservation struct {
	ID            int64      `json:"id" db:"id"`
	CaseID        int64      `json:"case_id" db:"case_id"`
	PreserveUntil time.Time  `json:"preserve_until" db:"preserve_until"`
	Records       int64      `json:"records" db:"records"`
	CreatedBy     string     `json:"created_by" db:"created_by"`
	CreatedAt     time.Time  `json:"created_at" db:"created_at"`
	ExtendedBy    string     `json:"extended_by,omitempty" db:"extended_by"`
	ExtendedAt    *time.Time `json:"extended_at,omitempty" db:"extended_at"`
	PurgedAt      *time.Time `json:"purged_at,omitempty" db:"purged_at"`
}

func (p *Preservation) utc() {
	p.PreserveUntil, p.CreatedAt = p.PreserveUntil.UTC(), p.CreatedAt.UTC()
	for _, t := range []**time.Time{&p.ExtendedAt, &p.PurgedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
}

const preservationColumns = "id, case_id, preserve_until, records, created_by, created_at, extended_by, extended_at, purged_at"

// freeze copies, inside the approval's transaction, the allowed categories'
// records of a preservation case's targets. Each copy is the JSON of its
// typed record, so it holds exactly the record kind's fields.
func (s *Store) freeze(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case) error {
	if c.Decision.PreserveUntil == nil {
		return nil
	}
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM preservations WHERE case_id = ?"), c.ID); err != nil {
		return fmt.Errorf("read preservation: %w", err)
	} else if n > 0 {
		return nil // frozen already (a second Store's hook)
	}
	accounts := targetAccounts(c)
	// Read everything first: PostgreSQL cannot write on a connection while
	// a result set is open on it. A hold covers at most a few accounts.
	var recs []Record
	var categories []cases.Category
	for _, a := range c.Decision.Allowed {
		if _, ok := KindOf(a.Category); !ok {
			continue
		}
		categories = append(categories, a.Category)
		if err := eachRecord(ctx, tx, Query{Category: a.Category, Accounts: accounts, Window: a.Window}, func(r Record) error {
			recs = append(recs, r)
			return nil
		}); err != nil {
			return err
		}
	}
	now := s.db.Now()
	until := c.Decision.PreserveUntil.UTC()
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO preservations (case_id, preserve_until, records, created_by, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`), c.ID, until, len(recs), actor, now); err != nil {
		return fmt.Errorf("create preservation: %w", err)
	}
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		h := r.header()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO preserved_records (preservation_id, kind, account, record_json)
			VALUES (?, ?, ?, ?)`), id, h.Kind, h.Account, string(b)); err != nil {
			return fmt.Errorf("preserve record: %w", err)
		}
	}
	return s.db.Audit(ctx, tx, actor, "preservation.freeze", "case", strconv.FormatInt(c.ID, 10), nil,
		map[string]any{"preservation": id, "preserve_until": until, "categories": categories, "accounts": accounts, "records": len(recs)})
}

// targetAccounts lists a case's targets, each once; a pattern names no
// account and is left out.
func targetAccounts(c *cases.Case) []string {
	var out []string
	for _, t := range c.Targets {
		if !cases.HasWildcard(t.Value) && !contains(out, t.Value) {
			out = append(out, t.Value)
		}
	}
	return out
}

// Preservation returns the hold of a case.
func (s *Store) Preservation(ctx context.Context, caseID int64) (*Preservation, error) {
	return preservationOf(ctx, s.db.Reader(), caseID)
}

func preservationOf(ctx context.Context, q queryer, caseID int64) (*Preservation, error) {
	var p Preservation
	err := sqlx.GetContext(ctx, q, &p, q.Rebind("SELECT "+preservationColumns+" FROM preservations WHERE case_id = ?"), caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cases.Errorf(cases.ENOTFOUND, "case %d has no preservation hold", caseID)
	} else if err != nil {
		return nil, fmt.Errorf("read preservation: %w", err)
	}
	p.utc()
	return &p, nil
}

// Preserved returns the frozen records of a case's hold.
func (s *Store) Preserved(ctx context.Context, caseID int64) ([]Record, error) {
	p, err := s.Preservation(ctx, caseID)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Kind Kind   `db:"kind"`
		JSON string `db:"record_json"`
	}
	if err := s.db.Reader().SelectContext(ctx, &rows, s.db.Reader().Rebind(
		"SELECT kind, record_json FROM preserved_records WHERE preservation_id = ? ORDER BY id"), p.ID); err != nil {
		return nil, fmt.Errorf("read preserved records: %w", err)
	}
	recs := make([]Record, 0, len(rows))
	for _, row := range rows {
		r := NewRecord(row.Kind)
		if r == nil {
			return nil, fmt.Errorf("preserved record of unknown kind %q", row.Kind)
		}
		if err := json.Unmarshal([]byte(row.JSON), r); err != nil {
			return nil, fmt.Errorf("preserved %s record: %w", row.Kind, err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// Extend grants a hold its one extension (90 days; 30 for an EU
// preservation order), on a renewed request. A
// hold already extended, already over or purged cannot be extended.
func (s *Store) Extend(ctx context.Context, actor *cases.User, caseID int64) (*Preservation, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot extend a preservation")
	}
	var p *Preservation
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		before, err := preservationOf(ctx, tx, caseID)
		if err != nil {
			return err
		}
		now := s.db.Now()
		switch {
		case before.ExtendedAt != nil:
			return cases.Errorf(cases.ECONFLICT, "the preservation of case %d was extended on %s; a hold is extended once only",
				caseID, before.ExtendedAt.Format(time.DateOnly))
		case before.PurgedAt != nil || !before.PreserveUntil.After(now):
			return cases.Errorf(cases.ECONFLICT, "the preservation of case %d ended on %s", caseID, before.PreserveUntil.Format(time.DateOnly))
		}
		var process cases.ProcessType
		if err := tx.GetContext(ctx, &process, tx.Rebind("SELECT process_type FROM cases WHERE id = ?"), caseID); err != nil {
			return err
		}
		until := before.PreserveUntil.Add(PreservationExtension)
		if process == cases.EUPreservationOrder {
			until = before.PreserveUntil.Add(EUPreservationExtension)
		}
		// Conditional, so of two racing extensions one wins.
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE preservations SET preserve_until = ?, extended_by = ?, extended_at = ?
			WHERE id = ? AND extended_at IS NULL AND purged_at IS NULL`), until, actor.Email, now, before.ID)
		if err != nil {
			return fmt.Errorf("extend preservation: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return cases.Errorf(cases.ECONFLICT, "the preservation of case %d was changed meanwhile", caseID)
		}
		if err := s.db.Audit(ctx, tx, actor.Email, "preservation.extend", "case", strconv.FormatInt(caseID, 10),
			map[string]any{"preserve_until": before.PreserveUntil}, map[string]any{"preserve_until": until}); err != nil {
			return err
		}
		// An extension is a clock event: due_at follows if a rule extends it.
		if err := s.db.RecomputeDue(ctx, tx, actor.Email, caseID); err != nil {
			return err
		}
		p, err = preservationOf(ctx, tx, caseID)
		return err
	})
	return p, err
}

// notUnderLegalHold keeps a purge off a preservation whose case is under a
// legal hold (cases/retention): the copies stay until the hold is released.
var notUnderLegalHold = " AND NOT " + store.HeldSQL("preservations.case_id")

// Purge deletes the frozen copies of every hold that ended at or before
// now, each in its own audited transaction, and returns how many holds it
// purged. The hold's row stays, marked purged, as the record that it was.
// A case under a legal hold keeps its copies.
func (s *Store) Purge(ctx context.Context, now time.Time) (int, error) {
	var due []struct {
		ID     int64 `db:"id"`
		CaseID int64 `db:"case_id"`
	}
	if err := s.db.Reader().SelectContext(ctx, &due, s.db.Reader().Rebind(
		"SELECT id, case_id FROM preservations WHERE purged_at IS NULL AND preserve_until <= ?"+notUnderLegalHold+" ORDER BY id"), now.UTC()); err != nil {
		return 0, fmt.Errorf("find expired preservations: %w", err)
	}
	purged := 0
	for _, d := range due {
		ok, err := s.purgeOne(ctx, d.ID, d.CaseID, now.UTC())
		if err != nil {
			return purged, err
		}
		if ok {
			purged++
		}
	}
	return purged, nil
}

// purgeOne purges the preservation id of the case caseID (a
// preservation's case never changes).
func (s *Store) purgeOne(ctx context.Context, id, caseID int64, now time.Time) (bool, error) {
	done := false
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		// Placing a legal hold locks the case's row; taking it first
		// means a hold placed meanwhile is seen below, not missed.
		if err := s.db.LockCase(ctx, tx, caseID); err != nil {
			return err
		}
		// Conditional on the hold still being due and the case not held:
		// an extension or a legal hold that committed after the listing wins.
		res, err := tx.ExecContext(ctx, tx.Rebind(
			"UPDATE preservations SET purged_at = ? WHERE id = ? AND purged_at IS NULL AND preserve_until <= ?"+notUnderLegalHold), now, id, now)
		if err != nil {
			return fmt.Errorf("purge preservation: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		var p Preservation
		if err := tx.GetContext(ctx, &p, tx.Rebind("SELECT "+preservationColumns+" FROM preservations WHERE id = ?"), id); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, tx.Rebind("DELETE FROM preserved_records WHERE preservation_id = ?"), id)
		if err != nil {
			return fmt.Errorf("purge preserved records: %w", err)
		}
		deleted, _ := res.RowsAffected()
		done = true
		return s.db.Audit(ctx, tx, cases.System, "preservation.purge", "case", strconv.FormatInt(p.CaseID, 10), nil,
			map[string]any{"preservation": id, "preserve_until": p.PreserveUntil.UTC(), "records_deleted": deleted})
	})
	return done, err
}

// RunPurger purges expired holds now and then every interval until ctx is
// done: the scheduled job a server runs.
func (s *Store) RunPurger(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var n int
		ran, err := s.db.Exclusive(ctx, "preservation-purge", func(ctx context.Context) (err error) {
			n, err = s.Purge(ctx, s.db.Now())
			return err
		})
		if ran {
			jobs.Ran("preservation-purge", err)
		}
		if err != nil {
			slog.Error("preservation purge", "err", err)
		} else if n > 0 {
			slog.Info("purged expired preservations", "holds", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
