package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// pattern returns n reproducible pseudo-random bytes.
func pattern(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readerOnly hides every interface but io.Reader, so PutBlob cannot learn
// the size in advance: it streams what it reads.
type readerOnly struct{ io.Reader }

// A blob of several chunks (not a whole number of them) reads back byte
// for byte through another handle on the database (another instance); an
// empty blob is a blob; a stored name is never replaced; a deleted blob
// is gone, and deleting it again is no error.
func TestBlobRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		other, err := store.Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		for _, n := range []int{0, 1, store.BlobChunk, 3*store.BlobChunk + 12345, 17*store.BlobChunk + 1} { // the last spans two write transactions
			want := pattern(n)
			name := "blob-" + time.Duration(n).String()
			size, err := db.PutBlob(ctx, name, readerOnly{bytes.NewReader(want)})
			if err != nil || size != int64(n) {
				t.Fatalf("put %d bytes: size %d, %v", n, size, err)
			}
			r, size, err := other.OpenBlob(ctx, name)
			if err != nil || size != int64(n) {
				t.Fatalf("open %s: size %d, %v", name, size, err)
			}
			// A small buffer: reads cross chunk boundaries.
			got, err := io.ReadAll(io.LimitReader(readerOnly{r}, int64(n)+1))
			r.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s reads back %d bytes (want %d), equal %v, %v", name, len(got), n, bytes.Equal(got, want), err)
			}
			if _, err := other.PutBlob(ctx, name, bytes.NewReader([]byte("other"))); cases.ErrorCode(err) != cases.ECONFLICT {
				t.Fatalf("replacing %s: %v, want a conflict", name, err)
			}
		}
		var chunks int
		if err := db.Reader().Get(&chunks, "SELECT COUNT(*) FROM blob_chunks WHERE name = 'blob-"+time.Duration(3*store.BlobChunk+12345).String()+"'"); err != nil || chunks != 4 {
			t.Errorf("%d chunks, want 4 (%v)", chunks, err)
		}
		name := "blob-" + time.Duration(store.BlobChunk).String()
		for range 2 {
			if err := other.DeleteBlob(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := db.OpenBlob(ctx, name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("open a deleted blob: %v", err)
		}
	})
}

// failingReader gives n bytes, then fails.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("the disk went away")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

// A write that fails half-way leaves nothing stored, and the name can be
// written again. A write cut off by a crash (an incomplete header left)
// holds its name only until it is stale: before, another write is
// refused (it may still be under way on another instance); after, it is
// taken over.
func TestBlobIncompleteWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.PutBlob(ctx, "half", &failingReader{2*store.BlobChunk + 5}); err == nil {
			t.Fatal("a failed read stored a blob")
		}
		var rows int
		db.Reader().Get(&rows, "SELECT (SELECT COUNT(*) FROM blobs) + (SELECT COUNT(*) FROM blob_chunks)")
		if rows != 0 {
			t.Fatalf("a failed write left %d rows", rows)
		}
		if _, err := db.PutBlob(ctx, "half", bytes.NewReader([]byte("whole"))); err != nil {
			t.Fatalf("writing the name again: %v", err)
		}

		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		if _, err := db.Writer().Exec(db.Writer().Rebind("INSERT INTO blobs (name, writer, created_at) VALUES (?, ?, ?)"), "crashed", "gone", now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.OpenBlob(ctx, "crashed"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("an incomplete blob opens: %v", err)
		}
		if _, err := db.PutBlob(ctx, "crashed", bytes.NewReader([]byte("x"))); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("a write under way was taken over: %v", err)
		}
		now = now.Add(store.StaleBlobWrite + time.Minute)
		if _, err := db.PutBlob(ctx, "crashed", bytes.NewReader([]byte("again"))); err != nil {
			t.Fatalf("a stale write was not taken over: %v", err)
		}
		r, _, err := db.OpenBlob(ctx, "crashed")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if b, _ := io.ReadAll(r); string(b) != "again" {
			t.Errorf("read %q", b)
		}
	})
}
