package main

import (
	"path/filepath"
	"strings"
	"testing"

	"envelope/cases/store/storetest"
)

// eachDSN runs fn on a new SQLite file and on a fresh PostgreSQL database.
func eachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "e.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.PostgresDSN(t)) })
}

// withPassword adds a password to a test PostgreSQL DSN (the test server
// trusts local connections, so any password is accepted).
func withPassword(t *testing.T, dsn, password string) string {
	t.Helper()
	if !strings.Contains(dsn, "postgres@") {
		return dsn
	}
	return strings.Replace(dsn, "postgres@", "postgres:"+password+"@", 1)
}

// backup prints one line describing the backup; restore refuses to
// overwrite, restores into an empty database, and leaves an audit log that
// envelope audit verify accepts. No output ever shows the password.
func TestBackupRestoreCommands(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		const secret = "hunter2-secret"
		dsn = withPassword(t, dsn, secret)
		approvedWarrant(t, dsn)
		dir := t.TempDir()
		file := filepath.Join(dir, "envelope.backup")
		var outputs []string
		cmd := func(args ...string) (int, string, string) {
			code, out, errOut := cli(t, dsn, "", args...)
			outputs = append(outputs, out, errOut)
			return code, out, errOut
		}

		if code, _, _ := cmd("backup"); code != 2 {
			t.Errorf("backup without FILE: %d", code)
		}
		code, out, errOut := cmd("backup", file)
		if code != 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "backup "+file+": ") ||
			!strings.Contains(out, "1 cases, 6 audit events verified, audit head ") || !strings.Contains(out, "the latest") {
			t.Fatalf("backup: %d %q %q", code, out, errOut)
		}
		if code, _, errOut := cmd("backup", file); code != 1 || !strings.Contains(errOut, "--force") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("backup over a file: %d %q", code, errOut)
		}
		if code, _, errOut := cmd("backup", "--force", file); code != 0 {
			t.Fatalf("backup --force: %d %q", code, errOut)
		}

		// Restoring over the database it came from needs --force.
		if code, _, errOut := cmd("restore", file); code != 1 || !strings.Contains(errOut, "holds data") {
			t.Fatalf("restore over data: %d %q", code, errOut)
		}
		target := filepath.Join(t.TempDir(), "restored.db")
		if strings.HasPrefix(dsn, "postgres") {
			target = withPassword(t, storetest.PostgresDSN(t), secret)
		}
		code, out, errOut = cli(t, "", "", "restore", "--db", target, file)
		outputs = append(outputs, out, errOut)
		if code != 0 || !strings.HasPrefix(out, "restored "+file+" into ") || !strings.Contains(out, "1 cases, 7 audit events verified") {
			t.Fatalf("restore: %d %q %q", code, out, errOut)
		}
		if code, out, _ := cli(t, target, "", "audit", "verify"); code != 0 || !strings.Contains(out, "7 events verified") {
			t.Fatalf("audit verify after restore: %d %q", code, out)
		}
		for _, o := range outputs {
			if strings.Contains(o, secret) {
				t.Fatalf("the password was printed: %q", o)
			}
		}
	})
}
