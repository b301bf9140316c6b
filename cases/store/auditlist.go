package store

import (
	"context"
	"strconv"
	"strings"

	"envelope/cases"
)

// MaxAuditPage is the most events one page of the audit log holds; the
// web refuses a larger limit (400), and the store clamps to it.
const MaxAuditPage = 1000

// AuditFilter selects audit events for the auditors' pages. Zero fields do
// not filter; Before is the keyset cursor (events with a smaller seq).
type AuditFilter struct {
	Actor, Action, Entity, EntityID string
	Before                          int64
	Limit                           int
}

// AuditEvents returns one page of the audit log matching f, newest first,
// and the cursor of the next page (0 on the last). An entity filter walks
// the (entity, entity_id, seq) index; the others page by seq.
func (db *DB) AuditEvents(ctx context.Context, f AuditFilter) ([]*cases.Event, int64, error) {
	bad := map[string]string{}
	for name, v := range map[string]string{"actor": f.Actor, "action": f.Action, "entity": f.Entity, "entity_id": f.EntityID} {
		if msg := cases.TextProblem(v); msg != "" || len(v) > 200 {
			bad[name] = "must be text of at most 200 characters"
		}
	}
	if len(bad) > 0 {
		return nil, 0, cases.Invalid(bad)
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > MaxAuditPage:
		limit = MaxAuditPage // a page, not the log: the next cursor gives the rest
	}
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"actor", strings.ToLower(strings.TrimSpace(f.Actor))}, {"action", strings.TrimSpace(f.Action)},
		{"entity", strings.TrimSpace(f.Entity)}, {"entity_id", strings.TrimSpace(f.EntityID)}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if f.Before > 0 {
		where, args = append(where, "seq < ?"), append(args, f.Before)
	}
	q := "SELECT " + eventColumns + " FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT " + strconv.Itoa(limit+1)
	var rows []eventRow
	if err := db.r.SelectContext(ctx, &rows, db.r.Rebind(q), args...); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].Seq
	}
	evs := make([]*cases.Event, len(rows))
	for i := range rows {
		evs[i] = rows[i].event()
	}
	return evs, next, nil
}
