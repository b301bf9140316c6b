package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// doctorSetup is a working installation: a database with an approved,
// produced case, its signing key and its package.
type doctorSetup struct {
	dsn, keys, pkgs string
}

func newDoctorSetup(t *testing.T, dsn string) *doctorSetup {
	t.Helper()
	dir := t.TempDir()
	d := &doctorSetup{dsn: dsn, keys: filepath.Join(dir, "keys"), pkgs: filepath.Join(dir, "packages")}
	number := approvedWarrant(t, dsn)
	if code, _, errOut := cli(t, dsn, "", "metadata", "import", "../../testdata/export/records.ndjson"); code != 0 {
		t.Fatalf("metadata import: %s", errOut)
	}
	if code, _, errOut := cli(t, dsn, "", "export", "--keys", d.keys, "--packages", d.pkgs, number); code != 0 {
		t.Fatalf("export: %s", errOut)
	}
	return d
}

func (d *doctorSetup) run(t *testing.T, args ...string) (int, []string, string) {
	t.Helper()
	code, out, errOut := cli(t, d.dsn, "", append([]string{"doctor", "--keys", d.keys, "--packages", d.pkgs}, args...)...)
	return code, strings.Split(strings.TrimSuffix(out, "\n"), "\n"), errOut
}

// exec runs statements on the setup's database, bypassing the store.
// (store.OpenExisting would not do: it opens SQLite read-only.)
func (d *doctorSetup) exec(t *testing.T, stmts map[store.Dialect][]string) {
	t.Helper()
	s, err := store.Open(context.Background(), d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range stmts[s.Dialect] {
		if _, err := s.Writer().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// On a working installation every check is ok, on both engines.
func TestDoctorHealthy(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		d := newDoctorSetup(t, dsn)
		code, lines, errOut := d.run(t, "--min-free", "1MiB")
		if code != 0 || len(lines) != 14 {
			t.Fatalf("doctor: %d %q %q", code, lines, errOut)
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "ok   ") {
				t.Errorf("not ok: %s", l)
			}
		}
		if !strings.Contains(strings.Join(lines, "\n"), "1 package file(s) present") {
			t.Errorf("the package was not checked: %q", lines)
		}
	})
}

// A document blob whose delete failed, still queued, is a warning (not a
// failure): the next purge retries it.
func TestDoctorWarnsOfQueuedBlobs(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		d := newDoctorSetup(t, dsn)
		q := "INSERT INTO blob_trash (name, queued_at) VALUES ('document-1-ab-cd.pdf', CURRENT_TIMESTAMP)"
		d.exec(t, map[store.Dialect][]string{store.SQLite: {q}, store.Postgres: {q}})
		code, lines, errOut := d.run(t, "--min-free", "1MiB")
		out := strings.Join(lines, "\n")
		if code != 0 || !strings.Contains(out, "warn documents: 1 blob(s) of purged or never recorded documents are still to be deleted") {
			t.Fatalf("doctor: %d %s %q", code, out, errOut)
		}
	})
}

var (
	dropUpdateTrigger = map[store.Dialect]string{
		store.SQLite: "DROP TRIGGER audit_events_no_update", store.Postgres: "DROP TRIGGER audit_events_no_change ON audit_events",
	}
	bothEngines = []string{"sqlite", "postgres"}
)

// Each check fails in turn: doctor names the check, says what is wrong and
// what to do, and exits 1.
func TestDoctorFindsEachProblem(t *testing.T) {
	tests := []struct {
		name    string
		engines []string
		// breaks the setup; returns extra doctor arguments
		breaks  func(t *testing.T, d *doctorSetup) []string
		check   string // the line that must fail
		problem string
		fix     string
		fails   int // how many checks fail
	}{
		{"bad database URL", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			return []string{"--db", "postgres://u:secret%zz@h/db"} // %zz is not an escape
		}, "configuration", "does not parse", "ENVELOPE_DB", 1},
		{"socket database URL without a server", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			// Valid, so the configuration is ok: connecting fails. (No
			// comma in the test's name: it would split the host list.)
			return []string{"--db", "postgres://u:secret@/envelope?host=" + t.TempDir()}
		}, "database", "", "PostgreSQL server runs", 1},
		{"packages directory missing", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			return []string{"--packages", filepath.Join(t.TempDir(), "nowhere")}
		}, "configuration", "disclosure packages", "ENVELOPE_PACKAGES", 1},
		{"database unreachable", bothEngines, func(t *testing.T, d *doctorSetup) []string {
			if store.IsPostgres(d.dsn) {
				return []string{"--db", "postgres://postgres:secret@127.0.0.1:1/envelope?sslmode=disable"}
			}
			return []string{"--db", filepath.Join(t.TempDir(), "missing.db")}
		}, "database", "", "", 1},
		{"damaged database", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			b, _ := os.ReadFile(d.dsn)
			os.Remove(d.dsn + "-wal")
			os.Remove(d.dsn + "-shm")
			for i := 4096; i < 3*4096; i++ {
				b[i] = byte(i)
			}
			os.WriteFile(d.dsn, b, 0o600)
			return nil
		}, "database", "malformed", "envelope restore --force", 1},
		{"migration not applied", bothEngines, func(t *testing.T, d *doctorSetup) []string {
			d.exec(t, map[store.Dialect][]string{
				store.SQLite:   {"DELETE FROM goose_db_version WHERE version_id = 6"},
				store.Postgres: {"DELETE FROM goose_db_version WHERE version_id = 6"},
			})
			return nil
		}, "migrations", "not applied yet (6)", "start envelope serve", 1},
		{"database of a newer release", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			d.exec(t, map[store.Dialect][]string{store.SQLite: {"INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)"}})
			return nil
		}, "migrations", "migration(s) 9999", "release that wrote this database", 1},
		{"policy does not load", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			d.exec(t, map[store.Dialect][]string{store.SQLite: {"INSERT INTO policies (version, source, activated_by, activated_at) VALUES ('v', 'rules: [', 'x', '2026-11-20')"}})
			return nil
		}, "policy", "serve will not start", "PUT /api/v1/policy", 1},
		{"signing key missing", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			os.Remove(filepath.Join(d.keys, "signing-key.private.pem"))
			return nil
		}, "signing key", "no signing key", "restore the key directory", 1},
		{"signing key readable by others", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			os.Chmod(filepath.Join(d.keys, "signing-key.private.pem"), 0o644)
			return nil
		}, "signing key", "readable by other users", "chmod 600", 1},
		{"public key not the private key's", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			other := filepath.Join(t.TempDir(), "other")
			cli(t, "", "", "signing-key", "--keys", other)
			b, _ := os.ReadFile(filepath.Join(other, "signing-key.pem"))
			os.WriteFile(filepath.Join(d.keys, "signing-key.pem"), b, 0o644)
			return nil
		}, "signing key", "not the private key's public half", "envelope signing-key", 1},
		{"audit row tampered with", bothEngines, func(t *testing.T, d *doctorSetup) []string {
			d.exec(t, map[store.Dialect][]string{
				store.SQLite:   {dropUpdateTrigger[store.SQLite], "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"},
				store.Postgres: {dropUpdateTrigger[store.Postgres], "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"},
			})
			return nil
		}, "audit chain", "audit event 2", "incident", 1},
		{"disk space low", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			return []string{"--min-free", "1EiB"}
		}, "disk space (database)", "under the minimum of 1.0 EiB", "free space", 2},
		{"packages directory not writable", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			readOnly(t, d.pkgs)
			return nil
		}, "packages directory", "", "chown", 1},
		{"package missing", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			d.exec(t, map[store.Dialect][]string{store.SQLite: {"DELETE FROM blob_chunks", "DELETE FROM blobs"}})
			return nil
		}, "packages", "(missing)", "blob store's backup", 1},
		{"package altered", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			d.exec(t, map[store.Dialect][]string{store.SQLite: {"UPDATE blob_chunks SET data = zeroblob(64) WHERE seq = 0"}})
			return nil
		}, "packages", "(altered: SHA-256 differs)", "blob store's backup", 1},
		{"database readable by others", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			os.Chmod(d.dsn, 0o644)
			return nil
		}, "file modes", "readable or writable by other users", "chmod 600", 1},
		{"package signed by a key that is not kept", []string{"sqlite"}, func(t *testing.T, d *doctorSetup) []string {
			cli(t, d.dsn, "", "signing-key rotate", "--keys", d.keys)
			os.RemoveAll(filepath.Join(d.keys, "retired"))
			return nil
		}, "package signers", "public half is not kept", "retired", 1},
	}
	for _, tt := range tests {
		for _, engine := range tt.engines {
			t.Run(tt.name+"/"+engine, func(t *testing.T) {
				dsn := filepath.Join(t.TempDir(), "e.db")
				if engine == "postgres" {
					dsn = storetest.PostgresDSN(t)
				}
				d := newDoctorSetup(t, dsn)
				args := append([]string{"--min-free", "1MiB"}, tt.breaks(t, d)...)
				code, lines, errOut := d.run(t, args...)
				var failed []string
				for _, l := range lines {
					if strings.HasPrefix(l, "FAIL ") {
						failed = append(failed, l)
					}
					if strings.Contains(l, "secret") {
						t.Errorf("a password was printed: %s", l)
					}
				}
				line := ""
				for _, l := range failed {
					if strings.HasPrefix(l, "FAIL "+tt.check+": ") && line == "" {
						line = l
					}
				}
				problem, fix, _ := strings.Cut(line, " — fix: ")
				if code != 1 || line == "" || !strings.Contains(problem, tt.problem) || fix == "" || !strings.Contains(fix, tt.fix) ||
					len(failed) != tt.fails || !strings.Contains(errOut, "check(s) failed") {
					t.Fatalf("doctor: exit %d, %d failed, want %q failing with %q, fix %q:\n%s", code, len(failed), tt.check, tt.problem, tt.fix, strings.Join(lines, "\n"))
				}
			})
		}
	}
}

// readOnly makes dir unwritable, even for root (chattr +i), until the test
// ends.
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		os.Chmod(dir, 0o500)
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("root, and chattr +i fails (%v %s): cannot make a directory unwritable", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
}

// URLs pgx accepts without a host (a Unix socket) or without a database
// name are not reported as unparseable: the configuration check passes and
// the database check is the one that tries them.
func TestDoctorAcceptsSocketURL(t *testing.T) {
	dir := t.TempDir()
	keys, pkgs := filepath.Join(dir, "keys"), filepath.Join(dir, "packages")
	os.Mkdir(keys, 0o700)
	os.Mkdir(pkgs, 0o700)
	sock := t.TempDir() // no server listens here
	for _, dsn := range []string{
		"postgres:///envelope?host=" + sock,
		"postgresql://envelope@/envelope?host=" + sock + "&sslmode=disable",
		"postgres://envelope@/?host=" + sock,
	} {
		code, out, _ := cli(t, dsn, "", "doctor", "--keys", keys, "--packages", pkgs, "--min-free", "1MiB")
		lines := strings.Split(out, "\n")
		if code != 1 || !strings.HasPrefix(lines[0], "ok   configuration: database ") || strings.Contains(out, "does not parse") ||
			len(lines) < 2 || !strings.HasPrefix(lines[1], "FAIL database: ") || strings.Contains(lines[1], "parse") {
			t.Errorf("%s: exit %d\n%s", dsn, code, out)
		}
	}
}

func TestDiskVerdict(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		free, total uint64
		want        string
	}{
		{50 * gib, 100 * gib, "ok   "},
		{4 * gib, 100 * gib, "warn "}, // above the minimum, under 5%
		{gib / 2, 100 * gib, "FAIL "}, // under the minimum
		{gib / 2, gib, "FAIL "},
	}
	for _, tt := range tests {
		var b strings.Builder
		c := &checkup{out: &b}
		c.diskVerdict("disk", "/data", tt.free, tt.total, gib)
		if !strings.HasPrefix(b.String(), tt.want) || (tt.want != "ok   ") != strings.Contains(b.String(), "— fix: ") {
			t.Errorf("%d of %d free: %q", tt.free, tt.total, b.String())
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"1048576": 1 << 20, "512KiB": 512 << 10, "500MiB": 500 << 20, "2GiB": 2 << 30, "1EiB": 1 << 60, "10B": 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "GiB", "1.5GiB", "-1", "2GB", "16EiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if code, _, errOut := cli(t, "", "", "doctor", "--min-free", "lots"); code != 2 || !strings.Contains(errOut, "500MiB") {
		t.Errorf("bad --min-free: %d %q", code, errOut)
	}
}
