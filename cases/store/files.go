package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"
)

// Case documents in the blob store (issue 18). Instances that share a
// database must serve the same documents, and an S3 deployment keeps its
// files in the bucket, not in database rows. With a Files store set
// (SetFiles), a new legal-process document, attachment or thread file is
// put there before the transaction that records it, and its row keeps the
// blob's name and no content; a row with no blob name (one written before,
// or by a DB with no Files) keeps its content in the row and still reads.

// Files keeps named, immutable files. It is blob.Store, declared here
// because the store package cannot import blob (blob imports store).
type Files interface {
	// Put stores r under name, streaming it; the file is served only once
	// complete, and a stored name is never replaced.
	Put(ctx context.Context, name string, r io.Reader) error
	// Open returns the file name and its size, or an error wrapping
	// fs.ErrNotExist if it is not stored.
	Open(ctx context.Context, name string) (io.ReadCloser, int64, error)
	// Delete deletes name; a name not stored is no error.
	Delete(ctx context.Context, name string) error
}

// SetFiles has documents stored in f from now on; nil keeps them in their
// rows. Set it before serving: it is not synchronised with readers.
func (db *DB) SetFiles(f Files) { db.files = f }

// putFile stores content in the Files store under a new name for a file
// of kind ("document", "attachment", "thread") of case caseID, and returns
// the name, or "" when there is no Files store (the content then goes in
// the row). The name is random, so two uploads never share one: a store
// never replaces a name.
func (db *DB) putFile(ctx context.Context, kind string, caseID int64, sha256 string, content []byte) (string, error) {
	if db.files == nil {
		return "", nil
	}
	var b [8]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s-%d-%s-%s.pdf", kind, caseID, hex.EncodeToString(b[:]), sha256[:16])
	if err := db.files.Put(ctx, name, bytes.NewReader(content)); err != nil {
		return "", fmt.Errorf("store %s: %w", kind, err)
	}
	return name, nil
}

// putRowFile stores content by putFile and returns the blob name and the
// content the row keeps: none once the blob holds it.
func (db *DB) putRowFile(ctx context.Context, kind string, caseID int64, sha256 string, content []byte) (string, []byte, error) {
	name, err := db.putFile(ctx, kind, caseID, sha256, content)
	if err != nil || name == "" {
		return "", content, err
	}
	return name, []byte{}, nil
}

// fileRow is the content columns of a document row.
type fileRow struct {
	Content []byte `db:"content"`
	Blob    string `db:"blob"`
}

// open returns a reader of the row's content: its own, or its blob's,
// streamed from the store.
func (f *fileRow) open(ctx context.Context, db *DB) (io.ReadCloser, error) {
	if f.Blob == "" {
		return io.NopCloser(bytes.NewReader(f.Content)), nil
	}
	return db.OpenFile(ctx, f.Blob)
}

// readAll reads a document opened by OpenDocument, OpenAttachment or
// OpenMessageFile whole (a document is at most cases.MaxDocumentSize), for
// callers that need its bytes.
func readAll[T any](meta T, r io.ReadCloser, err error) (T, []byte, error) {
	if err != nil {
		var zero T
		return zero, nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		var zero T
		return zero, nil, err
	}
	return meta, b, nil
}

// dropFiles deletes the blobs put for a transaction that then failed, so
// the store keeps nothing no row names. A delete that fails is queued in
// blob_trash for the next purge instead.
func (db *DB) dropFiles(ctx context.Context, names ...string) {
	ctx = context.WithoutCancel(ctx)
	for _, name := range names {
		if name == "" {
			continue
		}
		if err := db.files.Delete(ctx, name); err != nil {
			db.Tx(ctx, func(tx *sqlx.Tx) error { return db.TrashBlobs(ctx, tx, name) })
		}
	}
}

// OpenFile opens the blob name of a document row, for a reader that
// streams it (an HTTP download).
func (db *DB) OpenFile(ctx context.Context, name string) (io.ReadCloser, error) {
	if db.files == nil {
		return nil, fmt.Errorf("read %s: the document is in the blob store and this envelope has none set (--blobs)", name)
	}
	r, _, err := db.files.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return r, nil
}

// TrashBlobs records, in tx, blobs whose rows tx deletes: they are
// deleted from the Files store after the commit, by EmptyTrash.
func (db *DB) TrashBlobs(ctx context.Context, tx *sqlx.Tx, names ...string) error {
	now := db.Now().UTC()
	for _, name := range names {
		if name == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO blob_trash (name, queued_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"), name, now); err != nil {
			return fmt.Errorf("queue blob %s for deletion: %w", name, err)
		}
	}
	return nil
}

// EmptyTrash deletes the blobs TrashBlobs queued from the Files store and
// returns how many it deleted. A blob that fails to delete stays queued
// for the next call, its error joined to the one returned. Without a
// Files store nothing is deleted and the queue waits.
func (db *DB) EmptyTrash(ctx context.Context) (int, error) {
	if db.files == nil {
		return 0, nil
	}
	var names []string
	if err := db.r.SelectContext(ctx, &names, "SELECT name FROM blob_trash ORDER BY queued_at, name"); err != nil {
		return 0, fmt.Errorf("list blobs to delete: %w", err)
	}
	var errs []error
	n := 0
	for _, name := range names {
		if err := db.files.Delete(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("delete blob %s: %w", name, err))
			continue
		}
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM blob_trash WHERE name = ?"), name)
			return err
		}); err != nil {
			errs = append(errs, fmt.Errorf("unqueue blob %s: %w", name, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// TrashedBlobs counts the blobs still to be deleted, for doctor and tests.
func (db *DB) TrashedBlobs(ctx context.Context) (int, error) {
	var n int
	err := db.r.GetContext(ctx, &n, "SELECT COUNT(*) FROM blob_trash")
	return n, err
}
