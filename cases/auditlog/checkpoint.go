package auditlog

import (
	"context"
	"fmt"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"envelope/cases/store"
)

// Sign returns the signed checkpoint of a tree head: a C2SP tlog-checkpoint
// (origin, size, base64 root) signed as a note by the audit key. The origin
// is the key's name.
func (k *Key) Sign(th store.TreeHead) ([]byte, error) {
	body := log.Checkpoint{Origin: k.signer.Name(), Size: th.Size, Hash: th.Root}.Marshal()
	return note.Sign(&note.Note{Text: string(body)}, k.signer)
}

// Checkpoint signs the database's current tree head.
func Checkpoint(ctx context.Context, db *store.DB, k *Key) ([]byte, store.TreeHead, error) {
	th, err := db.TreeHead(ctx)
	if err != nil {
		return nil, th, err
	}
	cp, err := k.Sign(th)
	return cp, th, err
}

// Open checks a checkpoint's signature by v (whose name is the log's
// origin) and returns the tree head it signs.
func Open(cp []byte, v note.Verifier) (store.TreeHead, error) {
	c, _, _, err := log.ParseCheckpoint(cp, v.Name(), v)
	if err != nil {
		return store.TreeHead{}, fmt.Errorf("not a checkpoint signed by audit key %s: %w", v.Name(), err)
	}
	return store.TreeHead{Size: c.Size, Root: c.Hash}, nil
}
