package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// The blob store in the database (issue 18): files that every instance
// must serve (disclosure packages, letters) are kept in the database they
// share rather than in one instance's folder. A blob is written and read
// one chunk at a time: a package of any size never sits whole in memory.

// BlobChunk is the most bytes one blob_chunks row holds: large enough
// that a package of hundreds of MB is a few thousand rows, small enough
// that a write or a read holds little memory.
const BlobChunk = 256 << 10

// StaleBlobWrite is how long an incomplete blob is left to the writer that
// claimed it before another write of the same name may take it over: far
// longer than any write, so a write still under way on another instance
// is never cut off.
var StaleBlobWrite = time.Hour

// ErrBlobNotFound is returned for a blob that is not stored (or not yet
// complete). It wraps fs.ErrNotExist, as a missing file would.
var ErrBlobNotFound = fmt.Errorf("blob %w", fs.ErrNotExist)

// PutBlob stores the content r under name, one chunk at a time, and
// returns its size. The blob is served only once complete; a complete
// blob is never replaced (ECONFLICT), and a write that fails leaves
// nothing served. Chunks are written outside one long transaction, so
// the other writers of a SQLite database are not held for the whole
// write.
func (db *DB) PutBlob(ctx context.Context, name string, r io.Reader) (int64, error) {
	writer, err := db.claimBlob(ctx, name)
	if err != nil {
		return 0, err
	}
	size, chunks, err := db.writeChunks(ctx, name, r)
	if err == nil {
		err = db.completeBlob(ctx, name, writer, size, chunks)
	}
	if err != nil {
		db.dropBlob(context.WithoutCancel(ctx), name, writer)
		return 0, fmt.Errorf("store %s: %w", name, err)
	}
	return size, nil
}

// claimBlob inserts the incomplete header of name, replacing a stale
// incomplete one, and returns the write's random claim.
func (db *DB) claimBlob(ctx context.Context, name string) (string, error) {
	var b [16]byte
	rand.Read(b[:])
	writer := hex.EncodeToString(b[:])
	now := db.Now().UTC()
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		var old struct {
			Complete  bool      `db:"complete"`
			CreatedAt time.Time `db:"created_at"`
		}
		err := tx.GetContext(ctx, &old, tx.Rebind("SELECT complete, created_at FROM blobs WHERE name = ?"+db.lockRow()), name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case old.Complete:
			return cases.Errorf(cases.ECONFLICT, "%s is stored already", name)
		case now.Sub(old.CreatedAt) < StaleBlobWrite:
			return cases.Errorf(cases.ECONFLICT, "%s is being stored by another writer", name)
		default:
			if err := deleteBlobRows(ctx, tx, name); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO blobs (name, writer, created_at) VALUES (?, ?, ?)"), name, writer, now)
		return err
	})
	return writer, err
}

// chunksPerTx is how many chunks one transaction writes: on SQLite each
// commit is an fsync, and the writer is held only that long.
const chunksPerTx = 16

// writeChunks copies r into the chunks of name and returns the size and
// the number of chunks written.
func (db *DB) writeChunks(ctx context.Context, name string, r io.Reader) (int64, int, error) {
	buf := make([]byte, BlobChunk)
	var size int64
	seq := 0
	for done := false; !done; {
		// Not Tx: a retried transaction could not read r again. Names are
		// never written by two writers at once, so nothing deadlocks here.
		tx, err := db.w.BeginTxx(ctx, nil)
		if err != nil {
			return 0, 0, err
		}
		for n := 0; n < chunksPerTx && !done; n++ {
			k, err := io.ReadFull(r, buf)
			switch {
			case errors.Is(err, io.EOF):
				done = true
				continue
			case errors.Is(err, io.ErrUnexpectedEOF):
				done = true
			case err != nil:
				tx.Rollback()
				return 0, 0, err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO blob_chunks (name, seq, data) VALUES (?, ?, ?)"), name, seq, buf[:k]); err != nil {
				tx.Rollback()
				return 0, 0, fmt.Errorf("write chunk %d: %w", seq, err)
			}
			seq++
			size += int64(k)
		}
		if err := tx.Commit(); err != nil {
			return 0, 0, fmt.Errorf("write chunks: %w", err)
		}
	}
	return size, seq, nil
}

// completeBlob marks name complete if this write still holds its claim
// and every chunk it wrote is there.
func (db *DB) completeBlob(ctx context.Context, name, writer string, size int64, chunks int) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM blob_chunks WHERE name = ?"), name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE blobs SET complete = ?, size = ?, chunks = ? WHERE name = ? AND writer = ? AND NOT complete"),
			true, size, chunks, name, writer)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 || n != chunks {
			return fmt.Errorf("the write lost its claim to another writer (%d of %d chunks)", n, chunks)
		}
		return nil
	})
}

// dropBlob removes what a failed write left, if it still holds its claim.
func (db *DB) dropBlob(ctx context.Context, name, writer string) {
	db.Tx(ctx, func(tx *sqlx.Tx) error {
		var held string
		err := tx.GetContext(ctx, &held, tx.Rebind("SELECT name FROM blobs WHERE name = ? AND writer = ? AND NOT complete"+db.lockRow()), name, writer)
		if err != nil {
			return err // sql.ErrNoRows: another writer took it over
		}
		return deleteBlobRows(ctx, tx, name)
	})
}

func deleteBlobRows(ctx context.Context, tx *sqlx.Tx, name string) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM blob_chunks WHERE name = ?"), name); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM blobs WHERE name = ?"), name)
	return err
}

// DeleteBlob deletes the blob name; deleting one that is not stored is
// no error (a purge run again after a crash deletes the rest).
func (db *DB) DeleteBlob(ctx context.Context, name string) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error { return deleteBlobRows(ctx, tx, name) })
}

// BlobSize returns the size of the complete blob name, or ErrBlobNotFound.
func (db *DB) BlobSize(ctx context.Context, name string) (int64, error) {
	var size int64
	err := db.r.GetContext(ctx, &size, db.r.Rebind("SELECT size FROM blobs WHERE name = ? AND complete = ?"), name, true)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrBlobNotFound
	}
	return size, err
}

// OpenBlob returns a reader of the complete blob name, which reads one
// chunk at a time, and its size; ErrBlobNotFound if it is not stored.
func (db *DB) OpenBlob(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	var h struct {
		Size   int64 `db:"size"`
		Chunks int   `db:"chunks"`
	}
	err := db.r.GetContext(ctx, &h, db.r.Rebind("SELECT size, chunks FROM blobs WHERE name = ? AND complete = ?"), name, true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrBlobNotFound
	} else if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", name, err)
	}
	return &blobReader{ctx: ctx, db: db, name: name, chunks: h.Chunks}, h.Size, nil
}

// blobReader reads a blob's chunks in order, one query each.
type blobReader struct {
	ctx    context.Context
	db     *DB
	name   string
	seq    int
	chunks int
	buf    []byte
}

func (b *blobReader) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.seq == b.chunks {
			return 0, io.EOF
		}
		err := b.db.r.GetContext(b.ctx, &b.buf, b.db.r.Rebind("SELECT data FROM blob_chunks WHERE name = ? AND seq = ?"), b.name, b.seq)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("read %s: deleted while it was read", b.name)
		} else if err != nil {
			return 0, fmt.Errorf("read %s: %w", b.name, err)
		}
		b.seq++
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *blobReader) Close() error { b.buf = nil; return nil }
