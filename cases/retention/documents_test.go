package retention_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"testing"

	"envelope/cases/blob"
	"envelope/cases/blob/blobtest"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// watched is a blob store that records the names put, can cancel the
// writer's context once a put is done (so the transaction that follows
// fails), and can fail deletes.
type watched struct {
	blob.Store
	mu         sync.Mutex
	put        []string
	cancel     context.CancelFunc
	failDelete bool
}

func (w *watched) Put(ctx context.Context, name string, r io.Reader) error {
	err := w.Store.Put(ctx, name, r)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.put = append(w.put, name)
	if w.cancel != nil {
		w.cancel()
		w.cancel = nil
	}
	return err
}

func (w *watched) Delete(ctx context.Context, name string) error {
	w.mu.Lock()
	fail := w.failDelete
	w.mu.Unlock()
	if fail {
		return errors.New("the store is down")
	}
	return w.Store.Delete(ctx, name)
}

func (w *watched) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.put[len(w.put)-1]
}

// content reads the blob name whole, or reports it missing.
func content(t *testing.T, b blob.Store, name string) ([]byte, bool) {
	t.Helper()
	r, _, err := b.Open(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	} else if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return got, true
}

// With a blob store set (store.DB.SetFiles), case documents and
// attachments are kept in it, in the database's chunks or an S3 bucket,
// not in their rows; documents stored in rows before still read; a
// transaction that fails leaves no blob; and the purge of a closed case
// deletes its document's blob, retrying one that failed to delete.
func TestDocumentsInBlobStore(t *testing.T) {
	stores := map[string]func(t *testing.T, db *store.DB) blob.Store{
		"db": func(t *testing.T, db *store.DB) blob.Store { return blob.Database{DB: db} },
		"s3": func(t *testing.T, db *store.DB) blob.Store {
			b, err := blob.Open(ctx, blobtest.NewS3(t, "envelope").Setting("prefix=files/"), db)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
	for kind, open := range stores {
		t.Run(kind, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				b := &watched{Store: open(t, db)}
				f := newFixtureIn(t, db, b)
				old := f.subpoena("+14155550100") // its document in its row
				db.SetFiles(b)
				c := f.subpoena("+14155550108")
				if len(b.put) != 1 {
					t.Fatalf("put %v", b.put)
				}
				name := b.last()
				if n := f.count("SELECT COUNT(*) FROM case_documents WHERE case_id = ? AND blob = ? AND LENGTH(content) = 0", c.ID, name); n != 1 {
					t.Fatalf("the document row does not name its blob %s (or keeps its content)", name)
				}
				if got, ok := content(t, b, name); !ok || string(got) != "%PDF-1.4 the order" {
					t.Fatalf("blob %s holds %q (stored %v)", name, got, ok)
				}
				for _, k := range []string{old.Number, c.Number} {
					if doc, got, err := db.Document(ctx, k); err != nil || string(got) != "%PDF-1.4 the order" || doc.Size != int64(len(got)) {
						t.Fatalf("document of %s: %q %v", k, got, err)
					}
				}

				// A new upload supersedes the document: the attachment
				// keeps the same blob, and reads.
				if _, err := db.AttachDocument(ctx, f.intake, c.Number, "amended.pdf", []byte("%PDF-1.4 amended")); err != nil {
					t.Fatal(err)
				}
				amended := b.last()
				atts, err := db.Attachments(ctx, c.ID)
				if err != nil || len(atts) != 1 {
					t.Fatalf("attachments %+v %v", atts, err)
				}
				if _, got, err := db.AttachmentContent(ctx, c.Number, atts[0].ID); err != nil || string(got) != "%PDF-1.4 the order" {
					t.Fatalf("superseded document: %q %v", got, err)
				}
				if n := f.count("SELECT COUNT(*) FROM case_attachments WHERE id = ? AND blob = ?", atts[0].ID, name); n != 1 {
					t.Fatal("the superseded document's row does not carry its blob")
				}
				a, err := db.AddAttachment(ctx, f.intake, c.Number, "correspondence", "letter.pdf", []byte("%PDF-1.4 a letter"))
				if err != nil {
					t.Fatal(err)
				}
				if _, got, err := db.AttachmentContent(ctx, c.Number, a.ID); err != nil || string(got) != "%PDF-1.4 a letter" {
					t.Fatalf("attachment: %q %v", got, err)
				}
				letter := b.last()

				// A transaction that fails after the put deletes the blob.
				cctx, cancel := context.WithCancel(ctx)
				b.cancel = cancel
				if _, err := db.AddAttachment(cctx, f.intake, c.Number, "correspondence", "lost.pdf", []byte("%PDF-1.4 lost")); err == nil {
					t.Fatal("an attachment was added with its context cancelled")
				}
				if _, ok := content(t, b, b.last()); ok {
					t.Fatalf("the failed attachment's blob %s is still stored", b.last())
				}
				if n := f.count("SELECT COUNT(*) FROM case_attachments WHERE case_id = ?", c.ID); n != 2 {
					t.Fatalf("%d attachments", n)
				}

				// The purge deletes the blobs of the document and of the
				// case's other documents (the superseded process document,
				// the letter) after its commit; a delete that fails is
				// retried by the next purge.
				f.close(c)
				f.set(T0.Add(100 * day))
				b.failDelete = true
				if _, err := f.purger(retention.Settings{Closed: 90 * day}).Purge(ctx, f.now(), false); err == nil {
					t.Fatal("a purge whose blob deletes failed reports no error")
				}
				if n, err := db.TrashedBlobs(ctx); err != nil || n != 3 {
					t.Fatalf("%d blobs queued for deletion (%v), want 3", n, err)
				}
				if _, ok := content(t, b, amended); !ok {
					t.Fatal("the blob was deleted although its delete failed")
				}
				b.failDelete = false
				f.purge(retention.Settings{Closed: 90 * day}, false)
				if n, err := db.TrashedBlobs(ctx); err != nil || n != 0 {
					t.Fatalf("%d blobs still queued (%v)", n, err)
				}
				if _, ok := content(t, b, amended); ok {
					t.Fatal("the purged case's document is still in the blob store")
				}
				if _, _, err := db.Document(ctx, c.Number); err == nil {
					t.Fatal("the purged document still reads")
				}
				for _, gone := range []string{name, letter} {
					if _, ok := content(t, b, gone); ok {
						t.Fatalf("attachment blob %s is still in the blob store after the purge", gone)
					}
				}
				if n := f.count("SELECT COUNT(*) FROM case_attachments WHERE case_id = ?", c.ID); n != 0 {
					t.Fatalf("%d attachments left after the purge", n)
				}
				f.verifyAudit()
			})
		})
	}
}
