package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"envelope/cases/auditlog"
	"envelope/cases/blob"
	"envelope/cases/store"
	"envelope/exporter"
)

// auditKey checks the audit key loads and is its owner's alone.
func (c *checkup) auditKey(dir string) {
	const check = "audit key"
	k, err := auditlog.LoadKey(dir)
	if errors.Is(err, fs.ErrNotExist) {
		c.warn(check, "no audit key in "+dir+": checkpoints cannot be signed yet",
			"it is made on first use (envelope audit key --keys "+dir+"); if one existed, restore it from the key folder's backup: witnessed checkpoints name it")
		return
	} else if err != nil {
		c.fail(check, err.Error(), "restore the audit key files from the key folder's backup")
		return
	}
	c.ok(check, "%s (give auditors: envelope audit key)", k.Verifier().Name())
}

// fileModes flags a database, key or package file, or their folders,
// that other users may read or write: each holds evidence or a secret.
func (c *checkup) fileModes(cfg doctorConfig, dirsOK bool) {
	const check = "file modes"
	if runtime.GOOS == "windows" {
		c.skip(check, "not checked on windows")
		return
	}
	var paths []string
	if !store.IsPostgres(cfg.dsn) {
		paths = append(paths, cfg.dsn, cfg.dsn+"-wal", cfg.dsn+"-shm")
	}
	if dirsOK {
		for _, root := range []string{cfg.keys, cfg.packages} {
			filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
				if err == nil {
					paths = append(paths, p)
				}
				return nil
			})
		}
	}
	var loose []string
	for _, p := range paths {
		st, err := os.Stat(p)
		// The signing key has its own check, which names it.
		if err == nil && st.Mode().Perm()&0o077 != 0 && filepath.Base(p) != exporter.PrivateKeyFile {
			loose = append(loose, fmt.Sprintf("%s (%v)", p, st.Mode().Perm()))
		}
	}
	if len(loose) > 0 {
		sort.Strings(loose)
		c.fail(check, fmt.Sprintf("%d file(s) or folder(s) readable or writable by other users: %s", len(loose), strings.Join(loose, ", ")),
			"chmod 600 the files and 700 the folders (envelope creates them so; an older release or a copy did not)")
		return
	}
	c.ok(check, "database, keys and packages are their owner's alone")
}

// packageSigners warns about packages on record signed by a key that is
// no longer the current one, and fails if that key's public half is not
// kept for verification.
func (c *checkup) packageSigners(ctx context.Context, s *store.DB, cfg doctorConfig, b blob.Store) {
	const check = "package signers"
	if !c.needDB(check) {
		return
	}
	// The current key is the private key's: the public file has its own
	// check.
	signer, err := exporter.LoadKey(cfg.keys)
	if err != nil {
		c.skip(check, "no current signing key (see signing key)")
		return
	}
	if b == nil {
		c.skip(check, "the blob store cannot be opened (see packages)")
		return
	}
	current := signer.Fingerprint()
	known, _ := exporter.KnownKeys(cfg.keys) // a bad retired key shows as not kept
	var names []string
	if err := s.Reader().SelectContext(ctx, &names, "SELECT file_name FROM packages ORDER BY id"); err != nil {
		c.fail(check, err.Error(), "see migrations")
		return
	}
	kept := map[string]bool{}
	for _, k := range known {
		kept[k.Fingerprint] = true
	}
	old := map[string]int{}
	for _, n := range names {
		fp, err := signerOf(ctx, b, n)
		if err == nil && fp != current {
			old[fp]++
		}
	}
	if len(old) == 0 {
		c.ok(check, "%d package(s), all signed by the current key", len(names))
		return
	}
	var lost, retired []string
	for fp, n := range old {
		line := fmt.Sprintf("%d by %.16s…", n, fp)
		if kept[fp] {
			retired = append(retired, line)
		} else {
			lost = append(lost, line)
		}
	}
	sort.Strings(lost)
	sort.Strings(retired)
	if len(lost) > 0 {
		c.fail(check, "packages on record were signed by keys whose public half is not kept: "+strings.Join(lost, ", "),
			"put each old public key (signing-key.pem from the key folder's backup) in "+filepath.Join(cfg.keys, exporter.RetiredDir)+"/FINGERPRINT.pem, so those packages can still be verified")
		return
	}
	c.warn(check, "packages on record were signed by a key that is no longer current: "+strings.Join(retired, ", ")+" (kept in "+exporter.RetiredDir+"/)",
		"nothing to do if the key was rotated on purpose (envelope signing-key rotate); recipients verify those with envelope verify --fingerprint")
}

// signerOf reads the signing key fingerprint a stored package's manifest
// names. A zip is read from its end, so the package is copied to a
// temporary file first.
func signerOf(ctx context.Context, b blob.Store, name string) (string, error) {
	tmp, err := os.CreateTemp("", "envelope-doctor-*.zip")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	tmp.Close()
	if err := os.Remove(tmp.Name()); err != nil {
		return "", err
	}
	if err := blob.Copy(ctx, b, name, tmp.Name()); err != nil {
		return "", err
	}
	zr, err := zip.OpenReader(tmp.Name())
	if err != nil {
		return "", err
	}
	defer zr.Close()
	f, err := zr.Open(exporter.ManifestFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var m exporter.Manifest
	if err := json.NewDecoder(io.LimitReader(f, 16<<20)).Decode(&m); err != nil {
		return "", err
	}
	return m.SigningKey, nil
}
