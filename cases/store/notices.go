package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// Nondisclosure orders and the user notice of a case (cases/notice.go).
// Sending a notice by e-mail needs SMTP, which envelope does not have yet:
// the legal team sends it and records here that it went out.

const ndoColumns = "id, case_id, court, reference, expires_at, extensions, created_by, created_at"

// NDOs lists a case's nondisclosure orders, oldest first.
func (db *DB) NDOs(ctx context.Context, caseID int64) ([]cases.NDO, error) {
	return db.ndos(ctx, db.r, caseID)
}

func (db *DB) ndos(ctx context.Context, q sqlx.QueryerContext, caseID int64) ([]cases.NDO, error) {
	var out []cases.NDO
	if err := sqlx.SelectContext(ctx, q, &out, db.r.Rebind("SELECT "+ndoColumns+" FROM case_ndos WHERE case_id = ? ORDER BY id"), caseID); err != nil {
		return nil, err
	}
	for i := range out {
		utcNDO(&out[i])
	}
	return out, nil
}

func utcNDO(n *cases.NDO) {
	n.CreatedAt = n.CreatedAt.UTC()
	if n.ExpiresAt != nil {
		t := n.ExpiresAt.UTC()
		n.ExpiresAt = &t
	}
}

// AddNDO records a nondisclosure order on a case.
func (db *DB) AddNDO(ctx context.Context, actor *cases.User, ref string, n cases.NDO) (*cases.NDO, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot work cases")
	}
	if err := cases.CheckNDO(&n); err != nil {
		return nil, err
	}
	_, err := db.changeCase(ctx, ref, func(tx *sqlx.Tx, c *cases.Case) error {
		n.CaseID, n.CreatedBy, n.CreatedAt, n.Extensions = c.ID, actor.Email, db.Now(), 0
		if err := tx.GetContext(ctx, &n.ID, tx.Rebind(`INSERT INTO case_ndos (case_id, court, reference, expires_at, extensions, created_by, created_at)
			VALUES (?, ?, ?, ?, 0, ?, ?) RETURNING id`), n.CaseID, n.Court, n.Reference, n.ExpiresAt, n.CreatedBy, n.CreatedAt); err != nil {
			return err
		}
		return db.auditCase(ctx, tx, actor.Email, "ndo.add", c, nil, n)
	})
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// ExtendNDO moves an order's expiry later (an extension granted by the
// court), with the reason; an order cannot be shortened this way.
func (db *DB) ExtendNDO(ctx context.Context, actor *cases.User, ref string, ndoID int64, until time.Time, reason string) (*cases.NDO, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot work cases")
	}
	if bad := reasonProblem(reason); bad != nil {
		return nil, cases.Invalid(bad)
	}
	var out *cases.NDO
	_, err := db.changeCase(ctx, ref, func(tx *sqlx.Tx, c *cases.Case) error {
		var n cases.NDO
		err := tx.GetContext(ctx, &n, tx.Rebind("SELECT "+ndoColumns+" FROM case_ndos WHERE id = ? AND case_id = ?"), ndoID, c.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return cases.Errorf(cases.ENOTFOUND, "case %s has no nondisclosure order %d", c.Number, ndoID)
		} else if err != nil {
			return err
		}
		utcNDO(&n)
		if n.ExpiresAt == nil || !until.After(*n.ExpiresAt) {
			return cases.Invalid(map[string]string{"expires_at": "must be after the order's current expiry"})
		}
		before := n
		n.ExpiresAt, n.Extensions = &until, n.Extensions+1
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE case_ndos SET expires_at = ?, extensions = ? WHERE id = ?"), until, n.Extensions, n.ID); err != nil {
			return err
		}
		out = &n
		return db.auditCase(ctx, tx, actor.Email, "ndo.extend", c, before, map[string]any{"ndo": n, "reason": strings.TrimSpace(reason)})
	})
	return out, err
}

// NoticeRecord returns the notice recorded for a case, or nil.
func (db *DB) NoticeRecord(ctx context.Context, caseID int64) (*cases.NoticeRecord, error) {
	return db.noticeRecord(ctx, db.r, caseID)
}

func (db *DB) noticeRecord(ctx context.Context, q sqlx.QueryerContext, caseID int64) (*cases.NoticeRecord, error) {
	var r cases.NoticeRecord
	err := sqlx.GetContext(ctx, q, &r, db.r.Rebind("SELECT kind, method, note, at, recorded_by FROM case_notices WHERE case_id = ?"), caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	r.At = r.At.UTC()
	return &r, nil
}

// CaseNotice computes a case's user notice now.
func (db *DB) CaseNotice(ctx context.Context, c *cases.Case) (cases.Notice, error) {
	ndos, err := db.NDOs(ctx, c.ID)
	if err != nil {
		return cases.Notice{}, err
	}
	rec, err := db.NoticeRecord(ctx, c.ID)
	if err != nil {
		return cases.Notice{}, err
	}
	return cases.NoticeFor(c, ndos, rec, db.Now()), nil
}

// RecordNotice records that the user was notified (kind sent, with how)
// or an exception (kind exception, with why). Only a notice that is due
// can be sent: one barred by an order cannot, and a case has one record.
func (db *DB) RecordNotice(ctx context.Context, actor *cases.User, ref, kind, method, note string) (*cases.NoticeRecord, error) {
	return db.RecordNoticeThen(ctx, actor, ref, kind, method, note, nil)
}

// RecordNoticeThen is RecordNotice that also runs then, when not nil, in
// the same transaction: the notice e-mail is queued (cases/mail) exactly
// when the notice is recorded, never one without the other.
func (db *DB) RecordNoticeThen(ctx context.Context, actor *cases.User, ref, kind, method, note string, then func(tx *sqlx.Tx, c *cases.Case) error) (*cases.NoticeRecord, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot work cases")
	}
	method, note = strings.TrimSpace(method), strings.TrimSpace(note)
	switch {
	case kind != cases.NoticeKindSent && kind != cases.NoticeKindException:
		return nil, cases.Invalid(map[string]string{"kind": "choose sent or exception"})
	case kind == cases.NoticeKindSent && method == "":
		return nil, cases.Invalid(map[string]string{"method": "say how the notice was sent (e-mail, letter)"})
	case kind == cases.NoticeKindException && note == "":
		return nil, cases.Invalid(map[string]string{"note": "say why the user is not notified"})
	case cases.TextProblem(method) != "" || len(method) > 200:
		return nil, cases.Invalid(map[string]string{"method": "must be text of at most 200 characters"})
	case cases.TextProblem(note) != "" || len(note) > 2000:
		return nil, cases.Invalid(map[string]string{"note": "must be text of at most 2000 characters"})
	}
	rec := &cases.NoticeRecord{Kind: kind, Method: method, Note: note, At: db.Now(), By: actor.Email}
	_, err := db.changeCase(ctx, ref, func(tx *sqlx.Tx, c *cases.Case) error {
		ndos, err := db.ndos(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		prev, err := db.noticeRecord(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		n := cases.NoticeFor(c, ndos, prev, rec.At)
		switch {
		case prev != nil:
			return cases.Errorf(cases.ECONFLICT, "case %s: the notice is already recorded (%s)", c.Number, n.Why)
		case kind == cases.NoticeKindSent && n.State == cases.NoticeBarred:
			return cases.Errorf(cases.ECONFLICT, "case %s: notice is barred: %s", c.Number, n.Why)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO case_notices (case_id, kind, method, note, at, recorded_by) VALUES (?, ?, ?, ?, ?, ?)"),
			c.ID, rec.Kind, rec.Method, rec.Note, rec.At, rec.By); err != nil {
			return err
		}
		if then != nil {
			if err := then(tx, c); err != nil {
				return err
			}
		}
		return db.auditCase(ctx, tx, actor.Email, "notice."+kind, c, map[string]any{"notice": n}, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// NoticeItem is a row of the notice queue: a case and its notice.
type NoticeItem struct {
	Case   *cases.Case  `json:"case"`
	Notice cases.Notice `json:"notice"`
}

// NoticeQueue lists the approved cases without a recorded notice (the ones
// whose production may be held), newest first, with their notice state,
// at most limit of them.
func (db *DB) NoticeQueue(ctx context.Context, limit int) ([]NoticeItem, error) {
	var ids []int64
	if err := db.r.SelectContext(ctx, &ids, db.r.Rebind(`SELECT id FROM cases WHERE status = ?
		AND NOT EXISTS (SELECT 1 FROM case_notices WHERE case_notices.case_id = cases.id) ORDER BY id DESC LIMIT ?`),
		cases.StatusApproved, limit); err != nil {
		return nil, err
	}
	return db.noticeItems(ctx, ids)
}

func (db *DB) noticeItems(ctx context.Context, ids []int64) ([]NoticeItem, error) {
	var out []NoticeItem
	for _, id := range ids {
		c, err := db.getCase(ctx, db.r, id)
		if err != nil {
			return nil, err
		}
		n, err := db.CaseNotice(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, NoticeItem{Case: c, Notice: n})
	}
	return out, nil
}

// LapsingNDOs is the reminder: the cases with a nondisclosure order
// expiring in [from, to) and no notice recorded, soonest first, at most
// limit.
func (db *DB) LapsingNDOs(ctx context.Context, from, to time.Time, limit int) ([]NoticeItem, error) {
	var ids []int64
	if err := db.r.SelectContext(ctx, &ids, db.r.Rebind(`SELECT case_id FROM case_ndos
		WHERE expires_at >= ? AND expires_at < ?
		AND NOT EXISTS (SELECT 1 FROM case_notices WHERE case_notices.case_id = case_ndos.case_id)
		ORDER BY expires_at, case_id LIMIT ?`), from, to, limit); err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	uniq := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	return db.noticeItems(ctx, uniq)
}
