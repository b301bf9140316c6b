package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// The tree kept by each append is the one recomputed from the events, and
// every event's inclusion proof verifies with the merkle library.
func TestAuditTreeAppendAndProve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		storetest.SeedLog(t, db)
		head, err := db.TreeHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head.Size != storetest.SeedEvents {
			t.Fatalf("tree size %d, want %d", head.Size, storetest.SeedEvents)
		}
		rep, err := db.VerifyTree(ctx, []store.TreeHead{head})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Intact() || !bytes.Equal(rep.Head.Root, head.Root) {
			t.Fatalf("untampered log: %+v", rep)
		}
		// A checkpoint of an earlier size holds against the grown log.
		storetest.SeedLog(t, db)
		rep, err = db.VerifyTree(ctx, []store.TreeHead{head})
		if err != nil || !rep.Intact() {
			t.Fatalf("grown log against an old checkpoint: %v %+v", err, rep)
		}
		evs, th, err := db.ProveEvents(ctx, "case", "1", head.Size)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(th.Root, head.Root) || len(evs) != storetest.SeedEvents {
			t.Fatalf("proofs against %x for %d events", th.Root, len(evs))
		}
		for _, e := range evs {
			leaf := rfc6962.DefaultHasher.HashLeaf(e.Leaf)
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.Event.Seq-1), head.Size, leaf, e.Proof, head.Root); err != nil {
				t.Errorf("event %d: %v", e.Event.Seq, err)
			}
		}
	})
}

// A log written before the tree existed gets its tree at the next start,
// with no event changed or re-dated.
func TestAuditTreeBuiltForExistingLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		storetest.SeedLog(t, db)
		want, _ := db.TreeHead(ctx)
		before, _ := db.Events(ctx, "case", "1")
		// What migration 00010 finds: events, and no tree.
		storetest.DropTriggers(t, db)
		if _, err := db.Writer().Exec("UPDATE audit_events SET leaf_hash = NULL"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Writer().Exec("UPDATE audit_head SET tree_size = 0, tree_range = '', tree_root = ''"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TreeHead(ctx); err == nil {
			t.Fatal("a log without its tree gave a tree head")
		}
		// Not yet built is not tampering: the log still verifies.
		if rep, err := db.VerifyTree(ctx, nil); err != nil || !rep.Intact() {
			t.Fatalf("a log before its tree is built does not verify: %v %+v", err, rep)
		}
		again, err := store.Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		got, err := again.TreeHead(ctx)
		if err != nil || got.Size != want.Size || !bytes.Equal(got.Root, want.Root) {
			t.Fatalf("rebuilt tree %d %x, want %d %x (%v)", got.Size, got.Root, want.Size, want.Root, err)
		}
		if rep, err := again.VerifyTree(ctx, nil); err != nil || !rep.Intact() {
			t.Fatalf("the rebuilt tree does not verify: %v %+v", err, rep)
		}
		// Events older than the tree are proven from their content.
		proven, th, err := again.ProveEvents(ctx, "case", "1", got.Size)
		if err != nil || len(proven) != storetest.SeedEvents || !bytes.Equal(th.Root, want.Root) {
			t.Fatalf("proofs over old events: %d %v", len(proven), err)
		}
		after, _ := again.Events(ctx, "case", "1")
		for i := range before {
			if !before[i].At.Equal(after[i].At) || before[i].Hash != after[i].Hash {
				t.Errorf("event %d changed: %+v -> %+v", i+1, before[i], after[i])
			}
		}
	})
}

// Each attack of the suite fails a checkpoint taken before it, naming what
// broke; an untampered log passes (above).
func TestAuditAttacksFailCheckpoint(t *testing.T) {
	for _, at := range storetest.AuditAttacks {
		t.Run(strings.ReplaceAll(at.Name, " ", "_"), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				storetest.SeedLog(t, db)
				cp, err := db.TreeHead(ctx)
				if err != nil {
					t.Fatal(err)
				}
				storetest.DropTriggers(t, db)
				at.Run(t, db)
				rep, err := db.VerifyTree(ctx, []store.TreeHead{cp})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Checkpoints[0] == nil {
					t.Fatalf("the checkpoint still holds after %q", at.Name)
				}
				if !strings.Contains(rep.Checkpoints[0].Error(), at.Detail) {
					t.Errorf("failure %q does not say %q", rep.Checkpoints[0], at.Detail)
				}
			})
		})
	}
}

// Attacks that leave the head row disagreeing with the events fail
// verification even without a checkpoint; an honest log passes it.
func TestAuditAttacksFailWithoutCheckpoint(t *testing.T) {
	n := 0
	for _, at := range storetest.AuditAttacks {
		if at.Unpinned == "" {
			continue
		}
		n++
		t.Run(strings.ReplaceAll(at.Name, " ", "_"), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				storetest.SeedLog(t, db)
				rep, err := db.VerifyTree(ctx, nil)
				if err != nil || !rep.Intact() {
					t.Fatalf("untampered: %v %+v", err, rep)
				}
				storetest.DropTriggers(t, db)
				at.Run(t, db)
				rep, err = db.VerifyTree(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Intact() || rep.Recorded == nil {
					t.Fatalf("the log passes without a checkpoint after %q: %+v", at.Name, rep)
				}
				if !strings.Contains(rep.Recorded.Error(), at.Unpinned) {
					t.Errorf("failure %q does not say %q", rep.Recorded, at.Unpinned)
				}
			})
		})
	}
	if n == 0 {
		t.Fatal("no attack of the suite is caught without a checkpoint")
	}
}
