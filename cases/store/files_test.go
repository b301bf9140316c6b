package store_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/blob"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// With the database's blob store set for documents (--blobs db), an
// agency's process document and a thread file are stored in blob_chunks,
// not in their rows, and read back; a message whose transaction fails
// leaves no blob; the purge of the closed case deletes both blobs.
func TestThreadFilesInBlobStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		db.SetFiles(blob.Database{DB: db})
		blobs := func(prefix string) int {
			t.Helper()
			var n int
			if err := db.Reader().Get(&n, db.Reader().Rebind("SELECT COUNT(*) FROM blobs WHERE name LIKE ?"), prefix+"%"); err != nil {
				t.Fatal(err)
			}
			return n
		}
		_, o, _, kase := agencyCase(t, db, []byte("%PDF-1.4\n% process\n"))
		ref := strconv.FormatInt(kase.ID, 10)
		if _, got, err := db.Document(ctx, ref); err != nil || string(got) != "%PDF-1.4\n% process\n" || blobs("document-") != 1 {
			t.Fatalf("document: %q %v, %d blobs", got, err, blobs("document-"))
		}
		pdf := []byte("%PDF-1.4\n% answer\n")
		m, err := db.PostMessage(ctx, store.Poster{Officer: o}, ref, cases.MessagePlain, "Attached.", []cases.Upload{{Filename: "a.pdf", Content: pdf}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var row struct {
			Blob string `db:"blob"`
			Size int    `db:"size"`
		}
		if err := db.Reader().Get(&row, db.Reader().Rebind("SELECT blob, LENGTH(content) AS size FROM case_message_files WHERE id = ?"), m.Files[0].ID); err != nil ||
			row.Blob == "" || row.Size != 0 {
			t.Fatalf("the file's row: %+v %v", row, err)
		}
		if f, got, err := db.MessageFile(ctx, kase.ID, m.Files[0].ID); err != nil || !bytes.Equal(got, pdf) || f.Size != int64(len(pdf)) {
			t.Fatalf("file: %q %v", got, err)
		}
		fail := func(*sqlx.Tx, *cases.Case, *cases.Message) error {
			return cases.Errorf(cases.ECONFLICT, "mail refused")
		}
		if _, err := db.PostMessage(ctx, store.Poster{Officer: o}, ref, cases.MessagePlain, "Again.", []cases.Upload{{Filename: "b.pdf", Content: pdf}}, fail); err == nil {
			t.Fatal("a failing hook was ignored")
		}
		if n := blobs("thread-"); n != 1 {
			t.Fatalf("%d thread blobs after a message rolled back, want the first one only", n)
		}

		if _, _, err := db.CreateUser(ctx, "test", "ivy@example.org", cases.RoleIntake); err != nil {
			t.Fatal(err)
		}
		ivy, _ := db.UserByEmail(ctx, "ivy@example.org")
		if _, err := db.CloseCase(ctx, ivy, ref, "finished"); err != nil {
			t.Fatal(err)
		}
		later := db.Now().Add(48 * time.Hour)
		p := &retention.Purger{DB: db, Settings: retention.Settings{Closed: 24 * time.Hour}}
		rep, err := p.Purge(ctx, later, false)
		if err != nil || len(rep.Purged) != 1 || !rep.Purged[0].Document || rep.Purged[0].ThreadFiles != 1 {
			t.Fatalf("purge: %+v %v", rep, err)
		}
		if n := blobs("thread-") + blobs("document-"); n != 0 {
			t.Fatalf("%d document blobs left after the purge", n)
		}
	})
}
