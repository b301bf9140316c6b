package exporter

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"testing"

	"envelope/cases/blob"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A deployment upgraded from packages kept in each instance's folder:
// at its next start an instance copies the packages it holds into the
// blob store, where every instance serves them; the file of a case that
// retention purged meanwhile (on another instance) is deleted, never
// stored; a file that does not match its recorded SHA-256 is neither
// stored nor deleted.
func TestPackagesOfAnEarlierVersionAreCopiedIntoTheStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.importFile("records.ndjson")
		kept, purged, tampered := f.export(f.warrant()), f.export(f.warrant()), f.export(f.warrant())
		paths := map[*Package]string{}
		// As an earlier envelope left them: in the folder, not in the store.
		for _, p := range []*Package{kept, purged, tampered} {
			paths[p] = f.path(p)
			if err := f.exp.Blobs.Delete(ctx, p.FileName); err != nil {
				t.Fatal(err)
			}
		}
		os.Chmod(paths[tampered], 0o600)
		if err := os.WriteFile(paths[tampered], []byte("PK not the package"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Writer().Exec(db.Writer().Rebind("UPDATE cases SET purged_at = ? WHERE id = ?"), db.Now(), purged.CaseID); err != nil {
			t.Fatal(err)
		}

		restarted, err := New(db, metadata.New(db), f.keyDir, f.exp.Dir)
		if err != nil {
			t.Fatal(err)
		}
		_, r, err := restarted.Open(ctx, strconv.FormatInt(kept.CaseID, 10), kept.FileName)
		if err != nil {
			t.Fatalf("the old package is not served: %v", err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if sum, _ := blob.SHA256(ctx, restarted.Blobs, kept.FileName); int64(len(b)) != kept.Size || sum != kept.SHA256 {
			t.Errorf("served %d bytes of %s", len(b), kept.FileName)
		}
		if _, err := os.Stat(paths[purged]); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the purged case's package file is still there: %v", err)
		}
		for _, p := range []*Package{purged, tampered} {
			if _, _, err := restarted.Blobs.Open(ctx, p.FileName); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s was stored: %v", p.FileName, err)
			}
		}
		if _, err := os.Stat(paths[tampered]); err != nil {
			t.Errorf("the mismatching file was removed: %v", err)
		}
	})
}

// With --blobs naming a folder every instance mounts, a package one
// instance produced is served by another whose own packages folder is
// elsewhere.
func TestPackagesInASharedFolder(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	shared := blob.Dir(t.TempDir())
	a, err := NewIn(db, f.meta, f.keyDir, t.TempDir(), shared)
	if err != nil {
		t.Fatal(err)
	}
	f.exp = a
	f.importFile("records.ndjson")
	pkg := f.export(f.warrant())
	b, err := NewIn(db, f.meta, f.keyDir, t.TempDir(), shared)
	if err != nil {
		t.Fatal(err)
	}
	_, r, err := b.Open(ctx, strconv.FormatInt(pkg.CaseID, 10), pkg.FileName)
	if err != nil {
		t.Fatalf("the other instance does not serve it: %v", err)
	}
	r.Close()
	if sum, err := blob.SHA256(ctx, shared, pkg.FileName); err != nil || sum != pkg.SHA256 {
		t.Errorf("stored %s, %v; recorded %s", sum, err, pkg.SHA256)
	}
	if n := countBlobs(t, db); n != 0 {
		t.Errorf("%d blobs in the database with a folder store", n)
	}
}

func countBlobs(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.Reader().Get(&n, "SELECT COUNT(*) FROM blobs"); err != nil {
		t.Fatal(err)
	}
	return n
}
