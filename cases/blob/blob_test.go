package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/blob"
	"envelope/cases/store/storetest"
)

// The --blobs setting names the database, a shared folder, or is refused
// with a line that says what to give instead.
func TestOpenSetting(t *testing.T) {
	db := storetest.SQLite(t)
	dir := t.TempDir()
	for setting, want := range map[string]blob.Store{"": blob.Database{DB: db}, "db": blob.Database{DB: db},
		"file://" + dir: blob.Dir(dir), dir: blob.Dir(dir)} {
		if got, err := blob.Open(context.Background(), setting, db); err != nil || got != want {
			t.Errorf("Open(%q) = %#v, %v", setting, got, err)
		}
	}
	for setting, says := range map[string]string{"gs://bucket": "docs/operations.md", "relative/dir": "file:///path",
		"file://relative": "absolute", "ftp://x": "unknown scheme"} {
		if _, err := blob.Open(context.Background(), setting, db); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("Open(%q): %v, want it to say %q", setting, err, says)
		}
	}
}

// A shared folder stores a file whole under its name, never replaces it,
// and deletes it (twice is no error).
func TestDir(t *testing.T) {
	ctx := context.Background()
	d := blob.Dir(filepath.Join(t.TempDir(), "blobs"))
	if err := d.Put(ctx, "a.zip", bytes.NewReader([]byte("first"))); err != nil {
		t.Fatal(err)
	}
	// Refused as the database's and the bucket's stores refuse it, so a
	// caller that tolerates a name stored meanwhile (the legacy copy of
	// instances starting at once) tolerates it with every store.
	if err := d.Put(ctx, "a.zip", bytes.NewReader([]byte("second"))); cases.ErrorCode(err) != cases.ECONFLICT ||
		!strings.Contains(err.Error(), "a.zip is stored already") {
		t.Errorf("a second put of a stored file: %v", err)
	}
	r, size, err := d.Open(ctx, "a.zip")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "first" || size != 5 {
		t.Errorf("read %q (%d)", b, size)
	}
	if sum, _ := blob.SHA256(ctx, d, "a.zip"); sum != "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e" {
		t.Errorf("sha256 %s", sum)
	}
	for range 2 {
		if err := d.Delete(ctx, "a.zip"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := d.Open(ctx, "a.zip"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open a deleted file: %v", err)
	}
}
