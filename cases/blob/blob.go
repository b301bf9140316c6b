// Package blob is where the files every instance of envelope serves are
// kept (issue 18): disclosure packages and letters. Instances sharing one
// PostgreSQL must all reach the same store, so no instance's own folder
// will do. The database itself is the default store (Database); Dir is a
// folder every instance mounts (NFS, a volume); Bucket is an S3-compatible
// bucket (docs/operations.md, "Blob store").
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"envelope/cases/store"
)

// Store keeps named, immutable files (Put, Open, Delete): store.Files,
// through which the database keeps case documents in the same store.
type Store = store.Files

// Database is the store in the database's blobs tables, chunked.
type Database struct{ DB *store.DB }

func (d Database) Put(ctx context.Context, name string, r io.Reader) error {
	_, err := d.DB.PutBlob(ctx, name, r)
	return err
}

func (d Database) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	return d.DB.OpenBlob(ctx, name)
}

func (d Database) Delete(ctx context.Context, name string) error { return d.DB.DeleteBlob(ctx, name) }

// Dir is the store in a folder, for a folder every instance mounts.
type Dir string

func (d Dir) path(name string) string { return filepath.Join(string(d), filepath.Base(name)) }

// Put writes a temporary file, syncs it and links it under name, so a
// reader never sees part of a file and a stored name is never replaced.
func (d Dir) Put(ctx context.Context, name string, r io.Reader) error {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(string(d), ".storing-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	// Evidence must survive a power cut once it is recorded as produced.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	if err := tmp.Chmod(0o400); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), d.path(name)); errors.Is(err, fs.ErrExist) {
		return storedAlready(name)
	} else if err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	return syncDir(string(d))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (d Dir) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func (d Dir) Delete(ctx context.Context, name string) error {
	err := os.Remove(d.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Open returns the store a --blobs setting names: "" or "db" for the
// database, "file:///path" (or a plain absolute path) for a shared folder,
// "s3://BUCKET?endpoint=...&region=..." for an S3-compatible bucket, which
// must be reachable (it is listed once, within ReachTimeout). A setting
// that cannot be a store is a *SettingError.
func Open(ctx context.Context, setting string, db *store.DB) (Store, error) {
	switch {
	case setting == "" || setting == "db":
		return Database{db}, nil
	case filepath.IsAbs(setting):
		return Dir(setting), nil
	}
	u, err := url.Parse(setting)
	if err != nil || u.Scheme == "" {
		return nil, settingErrorf("blob store %q: use db, file:///path, an absolute path or s3://BUCKET?endpoint=...", setting)
	}
	switch u.Scheme {
	case "file":
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return nil, settingErrorf("blob store %q: a file URL names an absolute folder (file:///srv/envelope-blobs)", setting)
		}
		return Dir(u.Path), nil
	case "s3":
		return openBucket(ctx, setting, u)
	case "gs", "azblob":
		return nil, settingErrorf("blob store %q: %s buckets are not built into this envelope (docs/operations.md, \"Blob store\"); use db, a shared folder or an S3-compatible bucket", setting, strings.ToUpper(u.Scheme))
	}
	return nil, settingErrorf("blob store %q: unknown scheme %q (use db, file:///path or s3://BUCKET)", setting, u.Scheme)
}

// SettingError is a --blobs setting that names no store: bad usage, as
// opposed to a store named well that cannot be reached.
type SettingError struct{ msg string }

func (e *SettingError) Error() string { return e.msg }

func settingErrorf(format string, args ...any) error {
	return &SettingError{fmt.Sprintf(format, args...)}
}

// SHA256 returns the hex SHA-256 of the stored file name, read as a
// stream.
func SHA256(ctx context.Context, s Store, name string) (string, error) {
	f, _, err := s.Open(ctx, name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Copy writes the stored file name to path, a new file (an existing one is
// not replaced), for a command that hands a package to the operator.
func Copy(ctx context.Context, s Store, name, path string) error {
	in, _, err := s.Open(ctx, name)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
