package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"envelope/cases"
)

// The audit log is also an RFC 6962 Merkle tree (the one Certificate
// Transparency and the Go checksum database use): leaf i is the hash of
// event i+1's LeafData. A signed checkpoint of the tree's size and root,
// kept outside the database, pins every event before it: rewriting,
// deleting, reordering or replacing any of them changes the root, even if
// the hash chain was recomputed, and the checkpoint no longer holds.

// hasher is the RFC 6962 hasher (SHA-256, 0x00 leaf and 0x01 node prefixes).
var hasher = rfc6962.DefaultHasher

var rangeFactory = &compact.RangeFactory{Hash: hasher.HashChildren}

// TreeHead is the size and root hash of the audit tree: what a checkpoint
// signs.
type TreeHead struct {
	Size uint64
	Root []byte
}

// LeafHash returns the RFC 6962 leaf hash of an event.
func LeafHash(e *cases.Event) []byte { return hasher.HashLeaf(e.LeafData()) }

// EmptyRoot is the root of a tree with no leaves.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// treeRow is the tree state kept in the head row.
type treeRow struct {
	Seq   int64  `db:"seq"`
	Hash  string `db:"hash"`
	Size  int64  `db:"tree_size"`
	Range string `db:"tree_range"`
	Root  string `db:"tree_root"`
}

const headColumns = "seq, hash, tree_size, tree_range, tree_root"

// encodeRange and decodeRange keep a compact range (the roots of the
// tree's perfect subtrees, at most 64) as comma-separated hex.
func encodeRange(r *compact.Range) string {
	parts := make([]string, len(r.Hashes()))
	for i, h := range r.Hashes() {
		parts[i] = hex.EncodeToString(h)
	}
	return strings.Join(parts, ",")
}

func decodeRange(size int64, s string) (*compact.Range, error) {
	var hashes [][]byte
	if s != "" {
		for _, p := range strings.Split(s, ",") {
			h, err := hex.DecodeString(p)
			if err != nil {
				return nil, fmt.Errorf("the audit head's tree range: %w", err)
			}
			hashes = append(hashes, h)
		}
	}
	return rangeFactory.NewRange(0, uint64(size), hashes)
}

func rootOf(r *compact.Range) []byte {
	root, _ := r.GetRootHash(nil) // cannot fail: the range starts at 0
	if root == nil {
		return hasher.EmptyRoot()
	}
	return root
}

// appendLeaf adds an event's leaf to the head's tree (range and root)
// and returns the leaf hash, which Audit stores in the event's row: one
// row and one head update per event, as before the tree.
func appendLeaf(head *treeRow, ev *cases.Event) (string, error) {
	r, err := decodeRange(head.Size, head.Range)
	if err != nil {
		return "", err
	}
	leaf := LeafHash(ev)
	if err := r.Append(leaf, nil); err != nil {
		return "", err
	}
	head.Size, head.Range, head.Root = int64(r.End()), encodeRange(r), hex.EncodeToString(rootOf(r))
	return hex.EncodeToString(leaf), nil
}

// catchUpTree adds to the head's tree the events it does not hold yet:
// those of a log written before the tree existed (migration 00010), or
// restored from a backup that kept only the events. Events are read,
// never changed.
func (db *DB) catchUpTree(ctx context.Context, tx *sqlx.Tx, head *treeRow) error {
	if head.Size >= head.Seq {
		return nil
	}
	r, err := decodeRange(head.Size, head.Range)
	if err != nil {
		return err
	}
	rows, err := tx.QueryxContext(ctx, tx.Rebind("SELECT "+eventColumns+" FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq"), head.Size, head.Seq)
	if err != nil {
		return err
	}
	for rows.Next() {
		var row eventRow
		if err := rows.StructScan(&row); err != nil {
			rows.Close()
			return err
		}
		if row.Seq != int64(r.End())+1 {
			rows.Close()
			return &cases.TamperError{Seq: int64(r.End()) + 1, Problem: fmt.Sprintf("audit event %d is missing: the tree cannot be built past it", r.End()+1)}
		}
		if err := r.Append(LeafHash(row.event()), nil); err != nil {
			rows.Close()
			return err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	head.Size, head.Range, head.Root = int64(r.End()), encodeRange(r), hex.EncodeToString(rootOf(r))
	_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE audit_head SET tree_size = ?, tree_range = ?, tree_root = ? WHERE id = 1"), head.Size, head.Range, head.Root)
	return err
}

// buildTree brings the tree up to date with the log, at start-up, so that
// the first append after an upgrade does not pay for the whole log.
func (db *DB) buildTree(ctx context.Context) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var head treeRow
		if err := tx.GetContext(ctx, &head, "SELECT "+headColumns+" FROM audit_head WHERE id = 1"+db.lockRow()); err != nil {
			return fmt.Errorf("read audit head: %w", err)
		}
		return db.catchUpTree(ctx, tx, &head)
	})
}

// TreeHead returns the audit tree's size and root as recorded in the head
// row: what a checkpoint signs. It trusts the head; VerifyTree checks it.
func (db *DB) TreeHead(ctx context.Context) (TreeHead, error) {
	var head treeRow
	if err := db.r.GetContext(ctx, &head, "SELECT "+headColumns+" FROM audit_head WHERE id = 1"); err != nil {
		return TreeHead{}, fmt.Errorf("read audit head: %w", err)
	}
	if head.Size != head.Seq {
		return TreeHead{}, fmt.Errorf("the audit tree holds %d of %d events: open the database read-write once to build it", head.Size, head.Seq)
	}
	root, err := hex.DecodeString(head.Root)
	if err != nil || head.Size == 0 {
		root = hasher.EmptyRoot()
	}
	return TreeHead{Size: uint64(head.Size), Root: root}, nil
}

// ProvenEvent is an audit event with the proof that it is leaf Seq-1 of
// the tree of a given size.
type ProvenEvent struct {
	Event *cases.Event
	// Leaf is the event's LeafData, the exact bytes the tree hashed.
	Leaf  []byte
	Proof [][]byte
}

// ProveEvents returns the events about one entity in the tree of the given
// size (at most the current one), each with its inclusion proof. The
// proofs are built from the stored leaf hashes; each is verified against
// the recomputed leaf of its event before it is returned, so a log whose
// events no longer match their leaves cannot prove anything.
func (db *DB) ProveEvents(ctx context.Context, entity, entityID string, size uint64) ([]ProvenEvent, TreeHead, error) {
	tx, err := db.r.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, TreeHead{}, err
	}
	defer tx.Rollback()
	leaves, err := storedLeaves(ctx, tx, size)
	if err != nil {
		return nil, TreeHead{}, err
	}
	t := newTree(leaves)
	th := TreeHead{Size: size, Root: t.root(size)}
	var rows []eventRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind("SELECT "+eventColumns+
		" FROM audit_events WHERE entity = ? AND entity_id = ? AND seq <= ? ORDER BY seq"), entity, entityID, size); err != nil {
		return nil, TreeHead{}, err
	}
	out := make([]ProvenEvent, 0, len(rows))
	for i := range rows {
		e := rows[i].event()
		p, err := t.inclusion(uint64(e.Seq-1), size)
		if err != nil {
			return nil, TreeHead{}, err
		}
		leaf := e.LeafData()
		if err := proof.VerifyInclusion(hasher, uint64(e.Seq-1), size, hasher.HashLeaf(leaf), p, th.Root); err != nil {
			return nil, TreeHead{}, &cases.TamperError{Seq: e.Seq, Problem: fmt.Sprintf("audit event %d (%s) does not match its leaf in the tree: %s", e.Seq, e.Action, ProofError(err))}
		}
		out = append(out, ProvenEvent{Event: e, Leaf: leaf, Proof: p})
	}
	return out, th, nil
}

// ProofError says in one line why a Merkle proof does not hold: the
// merkle library's own message prints both roots as multi-line decimal
// byte arrays, which nobody checking a log can read.
func ProofError(err error) string {
	var rm proof.RootMismatchError
	if errors.As(err, &rm) {
		return fmt.Sprintf("the proof leads to root %x, not to %x", rm.CalculatedRoot, rm.ExpectedRoot)
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// storedLeaves returns the leaf hashes of the first size events: the
// stored ones, and for events older than the tree (no stored leaf), the
// hash of their content.
func storedLeaves(ctx context.Context, tx *sqlx.Tx, size uint64) ([][]byte, error) {
	var rows []struct {
		Seq  int64  `db:"seq"`
		Leaf string `db:"leaf_hash"`
	}
	if err := tx.SelectContext(ctx, &rows, tx.Rebind("SELECT seq, COALESCE(leaf_hash, '') AS leaf_hash FROM audit_events WHERE seq <= ? ORDER BY seq"), size); err != nil {
		return nil, err
	}
	if uint64(len(rows)) != size {
		return nil, fmt.Errorf("the audit log holds %d of its first %d events", len(rows), size)
	}
	leaves := make([][]byte, len(rows))
	old := false
	for i, r := range rows {
		if r.Seq != int64(i)+1 {
			return nil, &cases.TamperError{Seq: int64(i) + 1, Problem: fmt.Sprintf("audit event %d is missing", i+1)}
		}
		if r.Leaf == "" {
			old = true
			continue
		}
		var err error
		if leaves[i], err = hex.DecodeString(r.Leaf); err != nil {
			return nil, fmt.Errorf("audit event %d's leaf hash: %w", r.Seq, err)
		}
	}
	if !old {
		return leaves, nil
	}
	evs, err := tx.QueryxContext(ctx, tx.Rebind("SELECT "+eventColumns+" FROM audit_events WHERE seq <= ? AND leaf_hash IS NULL ORDER BY seq"), size)
	if err != nil {
		return nil, err
	}
	defer evs.Close()
	for evs.Next() {
		var row eventRow
		if err := evs.StructScan(&row); err != nil {
			return nil, err
		}
		leaves[row.Seq-1] = LeafHash(row.event())
	}
	return leaves, evs.Err()
}

// tree holds every perfect subtree's hash of a list of leaves, level by
// level, so that any proof node of a tree up to len(leaves) is a lookup.
// Which nodes a proof needs, and how they combine, is the merkle/proof
// package's business.
type tree struct{ levels [][][]byte }

func newTree(leaves [][]byte) *tree {
	t := &tree{levels: [][][]byte{leaves}}
	for prev := leaves; len(prev) > 1; {
		next := make([][]byte, len(prev)/2)
		for i := range next {
			next[i] = hasher.HashChildren(prev[2*i], prev[2*i+1])
		}
		t.levels = append(t.levels, next)
		prev = next
	}
	return t
}

func (t *tree) hashes(ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if int(id.Level) >= len(t.levels) || id.Index >= uint64(len(t.levels[id.Level])) {
			return nil, fmt.Errorf("the audit tree has no node %d/%d", id.Level, id.Index)
		}
		out[i] = t.levels[id.Level][id.Index]
	}
	return out, nil
}

func (t *tree) inclusion(index, size uint64) ([][]byte, error) {
	return t.proof(proof.Inclusion(index, size))
}

func (t *tree) consistency(size1, size2 uint64) ([][]byte, error) {
	return t.proof(proof.Consistency(size1, size2))
}

// proof looks up the hashes of the nodes the proof package chose and lets
// it combine them.
func (t *tree) proof(nodes proof.Nodes, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	h, err := t.hashes(nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(h, hasher.HashChildren)
}

// root is the root of the tree of the first size leaves, from the
// compact range of [0, size).
func (t *tree) root(size uint64) []byte {
	h, err := t.hashes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil
	}
	r, err := rangeFactory.NewRange(0, size, h)
	if err != nil {
		return nil
	}
	return rootOf(r)
}

// TreeReport is what VerifyTree found.
type TreeReport struct {
	// Events is how many events the log holds; Head the tree recomputed
	// from their content.
	Events int64
	Head   TreeHead
	// Chain is the first break of the hash chain, Leaves the first event
	// whose content no longer matches the leaf hash stored when it was
	// appended, and Recorded a head row that does not describe the log.
	Chain, Leaves, Recorded error
	// Checkpoints has one entry per checkpoint given, in order: nil if
	// the log is a consistent extension of it.
	Checkpoints []error
}

// Intact reports whether nothing was found wrong.
func (r *TreeReport) Intact() bool {
	if r.Chain != nil || r.Leaves != nil || r.Recorded != nil {
		return false
	}
	for _, err := range r.Checkpoints {
		if err != nil {
			return false
		}
	}
	return true
}

// VerifyTree recomputes the audit tree from the events' content (never
// from the stored leaf hashes or head) in one read-only snapshot, and
// checks each given tree head (a verified checkpoint) against it: its size
// must not exceed the log's, the first Size events must hash to its root,
// and a consistency proof from it to the current tree must verify. Any
// edit, deletion, insertion, reordering or replacement of an event before
// a checkpoint's size fails that checkpoint, whatever else was recomputed.
func (db *DB) VerifyTree(ctx context.Context, checkpoints []TreeHead) (*TreeReport, error) {
	tx, err := db.r.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rep := &TreeReport{Checkpoints: make([]error, len(checkpoints))}
	var chain cases.ChainVerifier
	var leaves [][]byte
	buf := make([]byte, 0, 1<<16)
	var want [32]byte
	// One goroutine reads the events while this one hashes them: on a
	// log of millions, each is about half of the time.
	err = readEvents(ctx, tx, func(e *cases.Event, stored []byte) {
		data := e.LeafData()
		if rep.Chain == nil {
			rep.Chain = chain.NextLeaf(e, data)
		}
		if len(buf)+hasher.Size() > cap(buf) {
			buf = make([]byte, 0, 1<<16)
		}
		buf = append(buf, hasher.HashLeaf(data)...)
		leaf := buf[len(buf)-hasher.Size():]
		leaves = append(leaves, leaf)
		if rep.Leaves == nil && len(stored) > 0 {
			if n, err := hex.Decode(want[:], stored); err != nil || n != len(want) || !bytes.Equal(want[:], leaf) {
				rep.Leaves = &cases.TamperError{Seq: e.Seq, Problem: fmt.Sprintf("audit event %d (%s %s %s) does not match the leaf hash recorded when it was appended: it was altered or moved", e.Seq, e.Action, e.Entity, e.EntityID)}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	rep.Events = int64(len(leaves))
	var head treeRow
	if err := tx.GetContext(ctx, &head, "SELECT "+headColumns+" FROM audit_head WHERE id = 1"); err != nil {
		return nil, fmt.Errorf("read the audit head: %w", err)
	}
	if rep.Chain == nil {
		rep.Chain = chain.End(head.Seq, head.Hash)
	}
	t := newTree(leaves)
	n := uint64(len(leaves))
	rep.Head = TreeHead{Size: n, Root: t.root(n)}
	rep.Recorded = t.checkHead(head, n)
	for i, cp := range checkpoints {
		rep.Checkpoints[i] = t.check(cp, rep.Head)
	}
	return rep, nil
}

// checkHead tells whether the head row's tree (size, compact range and
// root) describes the n events stored. A tree smaller than the log is
// legitimate only before its first read-write open after migration 00010
// (catchUpTree has not run yet): then its range and root must still be
// those of the log's first tree_size events. A tree larger than the head's
// sequence number, or one whose range or root the events do not
// reproduce, means the head was moved: events were deleted from the end
// and the chain's head rewritten to hide it.
func (t *tree) checkHead(head treeRow, n uint64) error {
	size := uint64(head.Size)
	if head.Size < 0 || head.Size > head.Seq || size > n {
		return fmt.Errorf("the audit head records a tree of %d events but a chain of %d, and %d events are stored: events were deleted from the end and the head moved back", head.Size, head.Seq, n)
	}
	if head.Size == 0 && head.Range == "" && (head.Root == "" || head.Root == hex.EncodeToString(hasher.EmptyRoot())) {
		return nil
	}
	nodes, err := t.hashes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return fmt.Errorf("the audit head records a tree of %d events that the stored events cannot build: %w", head.Size, err)
	}
	parts := make([]string, len(nodes))
	for i, h := range nodes {
		parts[i] = hex.EncodeToString(h)
	}
	root := t.root(size)
	if head.Range != strings.Join(parts, ",") || head.Root != hex.EncodeToString(root) {
		return fmt.Errorf("the audit head records a tree of %d events with root %.16s…, but the first %d events stored hash to %.16x…: the log or its head was rewritten", head.Size, head.Root, size, root)
	}
	return nil
}

// storedEvent is an event as read by readEvents, with its stored leaf
// hash (hex; empty for events older than the tree).
type storedEvent struct {
	cases.Event
	leaf []byte
}

// readEvents reads every event in order in a goroutine of its own, in
// batches, and calls fn for each in the caller's goroutine. Plain Scan,
// no reflection: this is the cost of verifying a log of millions.
func readEvents(ctx context.Context, tx *sqlx.Tx, fn func(e *cases.Event, storedLeaf []byte)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []storedEvent, 4)
	errc := make(chan error, 1)
	go func() {
		defer close(batches)
		errc <- func() error {
			rows, err := tx.QueryContext(ctx, "SELECT seq, at, actor, action, entity, entity_id, COALESCE(before_json, ''), COALESCE(after_json, ''), prev_hash, hash, COALESCE(leaf_hash, '') FROM audit_events ORDER BY seq")
			if err != nil {
				return err
			}
			defer rows.Close()
			batch := make([]storedEvent, 0, 4096)
			for rows.Next() {
				var e storedEvent
				var before, after []byte
				if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &before, &after, &e.PrevHash, &e.Hash, &e.leaf); err != nil {
					return err
				}
				e.At = e.At.UTC()
				if len(before) > 0 {
					e.Before = before
				}
				if len(after) > 0 {
					e.After = after
				}
				if batch = append(batch, e); len(batch) == cap(batch) {
					select {
					case batches <- batch:
					case <-ctx.Done():
						return ctx.Err()
					}
					batch = make([]storedEvent, 0, 4096)
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			select {
			case batches <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}()
	}()
	for batch := range batches {
		for i := range batch {
			fn(&batch[i].Event, batch[i].leaf)
		}
	}
	return <-errc
}

// check tells whether the tree (whose current head is cur) is a consistent
// extension of the checkpointed head cp.
func (t *tree) check(cp, cur TreeHead) error {
	switch {
	case cp.Size > cur.Size:
		return fmt.Errorf("it covers %d events but the log holds only %d: events were deleted (from the end, or anywhere if the chain also breaks), or the log was replaced", cp.Size, cur.Size)
	case !bytes.Equal(t.root(cp.Size), cp.Root):
		return fmt.Errorf("the first %d events of the stored log hash to %.16x…, not to its root %.16x…: an event up to seq %d was edited, deleted, inserted or reordered, or the log was replaced", cp.Size, t.root(cp.Size), cp.Root, cp.Size)
	}
	p, err := t.consistency(cp.Size, cur.Size)
	if err == nil {
		err = proof.VerifyConsistency(hasher, cp.Size, cur.Size, p, cp.Root, cur.Root)
	}
	if err != nil {
		return fmt.Errorf("no consistency proof from %d to %d events: %s", cp.Size, cur.Size, ProofError(err))
	}
	return nil
}
