package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
)

// Attack is a rewrite of the audit log by an insider with write access to
// the database, who has dropped the append-only triggers first (issue 13).
type Attack struct {
	Name string
	Run  func(t testing.TB, db *store.DB)
	// Detail is what a failed checkpoint's message must say.
	Detail string
	// Unpinned, if set, is what verification without any checkpoint
	// must say: the attack left the head row disagreeing with the events.
	Unpinned string
}

// ApprovalSeq is the sequence number of the case.approve event SeedLog
// writes; SeedLog writes SeedEvents events.
const (
	ApprovalSeq = 4
	SeedEvents  = 8
)

// SeedLog writes a small case history to the audit log: creation,
// decision, verification, approval, export and a few notes.
func SeedLog(t testing.TB, db *store.DB) {
	t.Helper()
	actions := []string{"case.create", "case.decide", "case.verify", "case.approve", "case.export", "case.note", "case.note", "case.note"}
	for i, a := range actions {
		if err := db.Tx(context.Background(), func(tx *sqlx.Tx) error {
			return db.Audit(context.Background(), tx, fmt.Sprintf("user%d@example.test", i%2), a, "case", "1", nil, map[string]int{"step": i})
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// AuditAttacks are the attacks every checkpoint must catch.
var AuditAttacks = []Attack{
	{Name: "delete a middle row", Detail: "the log holds only 7", Run: func(t testing.TB, db *store.DB) {
		exec(t, db, "DELETE FROM audit_events WHERE seq = 5")
	}},
	{Name: "edit a row", Detail: "up to seq 8 was edited", Run: func(t testing.TB, db *store.DB) {
		exec(t, db, fmt.Sprintf("UPDATE audit_events SET actor = 'someone-else@example.test' WHERE seq = %d", ApprovalSeq))
	}},
	{Name: "truncate the tail and move the head", Detail: "the log holds only 5", Run: func(t testing.TB, db *store.DB) {
		exec(t, db, "DELETE FROM audit_events WHERE seq > 5")
		Reforge(t, db)
	}},
	{Name: "truncate the tail and move only the chain's head", Detail: "the log holds only 5", Unpinned: "records a tree of 8 events but a chain of 5", Run: func(t testing.TB, db *store.DB) {
		// The chain ends where it should; the head's tree still says 8.
		exec(t, db, "DELETE FROM audit_events WHERE seq > 5")
		exec(t, db, "UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit_events WHERE seq = 5) WHERE id = 1")
	}},
	{Name: "truncate the tail and move the chain's head and tree size", Detail: "the log holds only 5", Unpinned: "the first 5 events stored hash to", Run: func(t testing.TB, db *store.DB) {
		// The tree's size agrees, but its range and root are of 8 events.
		exec(t, db, "DELETE FROM audit_events WHERE seq > 5")
		exec(t, db, "UPDATE audit_head SET seq = 5, tree_size = 5, hash = (SELECT hash FROM audit_events WHERE seq = 5) WHERE id = 1")
	}},
	{Name: "recompute the whole chain after deleting the approval", Detail: "up to seq 8 was edited", Run: func(t testing.TB, db *store.DB) {
		exec(t, db, fmt.Sprintf("DELETE FROM audit_events WHERE seq = %d", ApprovalSeq))
		Reforge(t, db)
		// and the log goes on growing past the checkpoint's size.
		SeedLog(t, db)
	}},
	{Name: "replace the log with a fresh one", Detail: "up to seq 8 was edited", Run: func(t testing.TB, db *store.DB) {
		exec(t, db, "DELETE FROM audit_events")
		Reforge(t, db)
		SeedLog(t, db)
		SeedLog(t, db)
	}},
	{Name: "swap two rows", Detail: "up to seq 8 was edited", Run: func(t testing.TB, db *store.DB) {
		// Row 2 takes seq 1000 for a moment, row 3 takes 2, row 2 takes 3.
		exec(t, db, "UPDATE audit_events SET seq = 1000 WHERE seq = 2")
		exec(t, db, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
		exec(t, db, "UPDATE audit_events SET seq = 3 WHERE seq = 1000")
		Reforge(t, db)
	}},
}

// DropTriggers removes the append-only triggers of the audit tables, as an
// insider with the database's owner rights can.
func DropTriggers(t testing.TB, db *store.DB) {
	t.Helper()
	if db.Dialect == store.Postgres {
		exec(t, db, "DROP TRIGGER audit_events_no_change ON audit_events")
		return
	}
	for _, tr := range []string{"audit_events_no_update", "audit_events_no_delete"} {
		exec(t, db, "DROP TRIGGER "+tr)
	}
}

// Reforge makes a rewritten log self-consistent, the way an insider who
// read envelope's source would: the events are renumbered 1..n in their
// order, the hash chain and the head recomputed, and the Merkle tree
// rebuilt from scratch (from the content: no stored leaf hash is left to
// disagree). Only a checkpoint kept outside the database can
// tell the result from an honest log.
func Reforge(t testing.TB, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	evs, err := db.Events(ctx, "case", "1")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Reader().GetContext(ctx, &n, "SELECT COUNT(*) FROM audit_events"); err != nil {
		t.Fatal(err)
	}
	if n != len(evs) {
		t.Fatalf("Reforge handles a log of one case: %d events, %d of case 1", n, len(evs))
	}
	exec(t, db, "DELETE FROM audit_events")
	prev := cases.GenesisHash
	for i, e := range evs {
		e.Seq, e.PrevHash = int64(i+1), prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		if _, err := db.Writer().ExecContext(ctx, db.Writer().Rebind(`INSERT INTO audit_events
			(seq, at, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), e.Seq, e.At, e.Actor, e.Action, e.Entity, e.EntityID,
			nullable(e.Before), nullable(e.After), e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Writer().ExecContext(ctx, db.Writer().Rebind(
		"UPDATE audit_head SET seq = ?, hash = ?, tree_size = 0, tree_range = '', tree_root = '' WHERE id = 1"), len(evs), prev); err != nil {
		t.Fatal(err)
	}
	// Opening the database rebuilds the tree from the events.
	again, err := store.Open(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}

func nullable(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

func exec(t testing.TB, db *store.DB, q string) {
	t.Helper()
	if _, err := db.Writer().Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
