package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"os"
)

// After a rotation, doctor warns that packages on record were signed by a
// key no longer current, and that it is kept; it does not fail.
func TestDoctorWarnsOfRetiredSigner(t *testing.T) {
	d := newDoctorSetup(t, filepath.Join(t.TempDir(), "e.db"))
	if code, _, errOut := cli(t, d.dsn, "", "signing-key rotate", "--keys", d.keys); code != 0 {
		t.Fatalf("rotate: %s", errOut)
	}
	code, lines, errOut := d.run(t, "--min-free", "1MiB")
	all := strings.Join(lines, "\n")
	if code != 0 || !strings.Contains(all, "warn package signers: packages on record were signed by a key that is no longer current: 1 by") {
		t.Fatalf("doctor: %d\n%s\n%s", code, all, errOut)
	}
}

// With the usual umask of 022, everything envelope creates is its owner's
// alone: the database and its WAL and SHM, the keys, the packages, the
// witness files, and their folders.
func TestFilesCreatedPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	root := t.TempDir()
	d := newDoctorSetup(t, filepath.Join(root, "data", "e.db"))
	witness := filepath.Join(root, "witness")
	srv := serveInProcess(t, "--db", d.dsn, "--keys", d.keys, "--packages", d.pkgs, "--witness", witness)
	srv.stop(t)
	paths := []string{filepath.Dir(d.dsn), d.dsn, d.dsn + "-wal", d.dsn + "-shm"}
	for _, dir := range []string{d.keys, d.pkgs, witness} {
		filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			paths = append(paths, p)
			return err
		})
	}
	seen := 0
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			continue // no WAL left after a clean close
		}
		seen++
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", p, st.Mode().Perm())
		}
	}
	if seen < 10 {
		t.Fatalf("only %d files checked: %v", seen, paths)
	}
	if code, lines, _ := d.run(t, "--min-free", "1MiB"); code != 0 || !strings.Contains(strings.Join(lines, "\n"), "ok   file modes") {
		t.Fatalf("doctor: %d %q", code, lines)
	}
}
