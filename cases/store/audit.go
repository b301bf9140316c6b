package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// Audit appends one event to the audit log inside tx. before and after are
// marshalled to JSON; nil means "nothing" (a creation has no before). Other
// packages that change state in the same database call it in their own
// transactions, so that a change and its audit event commit together.
func (db *DB) Audit(ctx context.Context, tx *sqlx.Tx, actor, action, entity, entityID string, before, after any) error {
	var head treeRow
	// Reading and advancing the head row serializes appends, so two
	// concurrent transactions can never chain to the same predecessor.
	if err := tx.GetContext(ctx, &head, "SELECT "+headColumns+" FROM audit_head WHERE id = 1"+db.lockRow()); err != nil {
		return fmt.Errorf("read audit head: %w", err)
	}
	if err := db.catchUpTree(ctx, tx, &head); err != nil {
		return err
	}
	ev := cases.Event{
		Seq: head.Seq + 1, At: db.Now(), Actor: actor, Action: action,
		Entity: entity, EntityID: entityID, PrevHash: head.Hash,
	}
	var err error
	if ev.Before, err = marshalOrNil(before); err != nil {
		return err
	}
	if ev.After, err = marshalOrNil(after); err != nil {
		return err
	}
	ev.Hash = ev.ComputeHash()
	leaf, err := appendLeaf(&head, &ev)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO audit_events
		(seq, at, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash, leaf_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ev.Seq, ev.At, ev.Actor, ev.Action, ev.Entity, ev.EntityID,
		nullString(ev.Before), nullString(ev.After), ev.PrevHash, ev.Hash, leaf); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE audit_head SET seq = ?, hash = ?, tree_size = ?, tree_range = ?, tree_root = ? WHERE id = 1"),
		ev.Seq, ev.Hash, head.Size, head.Range, head.Root); err != nil {
		return fmt.Errorf("advance audit head: %w", err)
	}
	return nil
}

func marshalOrNil(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit data: %w", err)
	}
	return b, nil
}

func nullString(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

const eventColumns = "seq, at, actor, action, entity, entity_id, COALESCE(before_json, '') AS before_json, COALESCE(after_json, '') AS after_json, prev_hash, hash"

// VerifyAudit walks the whole audit log in order and checks its hash chain
// and its head. It returns how many events it verified; the error names the
// first event found edited or deleted.
func (db *DB) VerifyAudit(ctx context.Context) (int64, error) {
	n, _, err := db.verifyAudit(ctx)
	return n, err
}

// AuditHead verifies the audit chain and returns how many events it holds
// and the newest one's hash: a fingerprint of the whole log to note down.
func (db *DB) AuditHead(ctx context.Context) (int64, string, error) {
	n, head, err := db.verifyAudit(ctx)
	if err != nil {
		return n, "", fmt.Errorf("the audit log is not intact: %w", err)
	}
	return n, head, nil
}

// verifyAudit checks the chain and its head, and returns how many events
// it verified and the head's hash. The log and its head are read in one
// read-only snapshot: on a live database, an event committed between the
// two reads would otherwise look like events deleted from the end, and the
// count and head returned would describe different moments.
func (db *DB) verifyAudit(ctx context.Context) (int64, string, error) {
	tx, err := db.r.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, "", err
	}
	defer tx.Rollback()
	rows, err := tx.QueryxContext(ctx, "SELECT "+eventColumns+" FROM audit_events ORDER BY seq")
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	var v cases.ChainVerifier
	for rows.Next() {
		var row eventRow
		if err := rows.StructScan(&row); err != nil {
			return v.Count(), "", err
		}
		if err := v.Next(row.event()); err != nil {
			return v.Count(), "", err
		}
	}
	if err := rows.Err(); err != nil {
		return v.Count(), "", err
	}
	var head struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	if err := tx.GetContext(ctx, &head, "SELECT seq, hash FROM audit_head WHERE id = 1"); err != nil {
		return v.Count(), "", fmt.Errorf("read the audit head: %w", err)
	}
	if err := v.End(head.Seq, head.Hash); err != nil {
		return v.Count(), "", err
	}
	return v.Count(), head.Hash, nil
}

// Events returns the audit events about one entity, oldest first: the
// timeline of a case.
func (db *DB) Events(ctx context.Context, entity, entityID string) ([]*cases.Event, error) {
	var rows []eventRow
	err := db.r.SelectContext(ctx, &rows, db.r.Rebind("SELECT "+eventColumns+
		" FROM audit_events WHERE entity = ? AND entity_id = ? ORDER BY seq"), entity, entityID)
	evs := make([]*cases.Event, len(rows))
	for i := range rows {
		evs[i] = rows[i].event()
	}
	return evs, err
}

// eventRow scans an event: drivers return JSON text as string or []byte,
// which database/sql will not store into a json.RawMessage directly.
type eventRow struct {
	cases.Event
	BeforeJSON string `db:"before_json"`
	AfterJSON  string `db:"after_json"`
}

func (r *eventRow) event() *cases.Event {
	e := r.Event
	e.At = e.At.UTC()
	if r.BeforeJSON != "" {
		e.Before = json.RawMessage(r.BeforeJSON)
	}
	if r.AfterJSON != "" {
		e.After = json.RawMessage(r.AfterJSON)
	}
	return &e
}
