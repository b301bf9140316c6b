package exporter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"envelope/cases"
	"envelope/cases/blob"
	"envelope/cases/store"
)

// Before issue 18 each instance kept its packages and letters in its own
// folder (--packages). copyLegacy, run at every start, copies those an
// instance still holds into the shared blob store, so an upgraded
// deployment serves its old packages through every instance:
//   - a file the store lacks is stored once its SHA-256 matches its row
//     (a file that does not match is left where it is, and logged);
//   - a file of a case that retention purged (on any instance) is deleted:
//     it must never come back through the store;
//   - a file the store holds already is left alone: it is a copy (the
//     command line hands packages out there), never served.
//
// Only files named in the packages or letters tables are touched.
func copyLegacy(ctx context.Context, db *store.DB, blobs blob.Store, dir string) error {
	if _, ok := blobs.(blob.Dir); ok && filepath.Clean(string(blobs.(blob.Dir))) == filepath.Clean(dir) {
		return nil // the folder is the store
	}
	names, err := filepath.Glob(filepath.Join(dir, "LR-*.zip")) // fails only on a bad pattern
	if err != nil || len(names) == 0 {
		return err
	}
	var errs []error
	for _, path := range names {
		if err := copyOne(ctx, db, blobs, path); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// legacyFile is what the tables say of a file found in the folder.
type legacyFile struct {
	SHA256 string `db:"sha256"`
	Purged bool   `db:"purged"`
}

func copyOne(ctx context.Context, db *store.DB, blobs blob.Store, path string) error {
	name := filepath.Base(path)
	r := db.Reader()
	var rows []legacyFile
	purged := `(c.purged_at IS NOT NULL AND NOT ` + store.HeldSQL("c.id") + `) AS purged`
	err := r.SelectContext(ctx, &rows, r.Rebind(`SELECT p.sha256, `+purged+` FROM packages p JOIN cases c ON c.id = p.case_id WHERE p.file_name = ?
		UNION ALL SELECT l.sha256, `+purged+` FROM letters l JOIN cases c ON c.id = l.case_id WHERE l.file_name = ?`), name, name)
	if err != nil {
		return fmt.Errorf("copy %s into the blob store: %w", name, err)
	}
	if len(rows) != 1 {
		return nil // not a package or letter of this database
	}
	if rows[0].Purged {
		return os.Remove(path)
	}
	if f, _, err := blobs.Open(ctx, name); err == nil {
		f.Close()
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if sum, err := blob.SHA256(ctx, blob.Dir(filepath.Dir(path)), name); err != nil {
		return err
	} else if sum != rows[0].SHA256 {
		slog.Warn("a package file does not match its recorded SHA-256; left in place, not served", "file", path, "recorded", rows[0].SHA256, "file_sha256", sum)
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := blobs.Put(ctx, name, f); err != nil && cases.ErrorCode(err) != cases.ECONFLICT {
		return fmt.Errorf("copy %s into the blob store: %w", name, err)
	}
	slog.Info("copied a package into the blob store", "file", name)
	return nil
}
