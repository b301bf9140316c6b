package store_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// populate gives db users, cases in several states, a note and a review:
// a little of everything a backup must carry.
func populate(t *testing.T, db *store.DB) {
	t.Helper()
	intake := user(t, db, "ivy@example.org", cases.RoleIntake)
	rev := user(t, db, "rex@example.org", cases.RoleReviewer)
	for i, name := range []string{"pen_register.json", "emergency.json", "subpoena.json"} {
		c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, name), Decision: decision(cases.OutcomePartial)})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.AddNote(ctx, intake, c.Number, "Called the requester: it's \"urgent\"\n\ttab\\backslash"); err != nil {
			t.Fatal(err)
		}
		if i != 1 {
			if _, err := db.Review(ctx, rev, c.Number, cases.StatusApproved, "looks right"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Control characters and backslashes in audited text, which a
	// PostgreSQL dump escapes.
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		return db.Audit(ctx, tx, "cli:o'brien\t\x41\101\\", "test.escape", "test", "tab\there\nnewline\r\u00e9", nil, map[string]string{"k": "v\\"})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// backedUp populates db and backs it up to a new file.
func backedUp(t *testing.T, db *store.DB) (string, *store.Summary) {
	t.Helper()
	populate(t, db)
	file := filepath.Join(t.TempDir(), "backup")
	s, err := store.Backup(ctx, db.DSN, file, store.BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return file, s
}

// target names a new, empty database on db's engine.
func target(t *testing.T, db *store.DB) string {
	if db.Dialect == store.Postgres {
		return storetest.PostgresDSN(t)
	}
	return filepath.Join(t.TempDir(), "restored", "envelope.db")
}

func open(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.OpenExisting(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// tables renders every row of every table but the audit log's, in order,
// so that two databases compare equal only if they hold the same data;
// "(schema)" lists the tables, indexes, triggers and constraints.
func tables(t *testing.T, db *store.DB) map[string][]string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	schema := "SELECT type || ' ' || name FROM sqlite_master"
	if db.Dialect == store.Postgres {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
		schema = `SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = 'public'
			UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
			UNION ALL SELECT 'constraint ' || conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace
			UNION ALL SELECT 'table ' || tablename FROM pg_tables WHERE schemaname = 'public'`
	}
	var names, objects []string
	if err := db.Reader().Select(&names, q); err != nil {
		t.Fatal(err)
	}
	if err := db.Reader().Select(&objects, schema); err != nil {
		t.Fatal(err)
	}
	sort.Strings(objects)
	out := map[string][]string{"(schema)": objects}
	for _, n := range names {
		if n == "audit_events" || n == "audit_head" {
			continue
		}
		rows, err := db.Reader().Queryx("SELECT * FROM " + n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = []string{} // an empty table is there too
		for rows.Next() {
			m := map[string]any{}
			if err := rows.MapScan(m); err != nil {
				t.Fatal(err)
			}
			out[n] = append(out[n], render(m))
		}
		rows.Close()
		sort.Strings(out[n])
	}
	return out
}

func render(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := m[k]
		if s, ok := v.([]byte); ok {
			v = string(s)
		}
		fmt.Fprintf(&b, "%s=%v;", k, v)
	}
	return b.String()
}

func hashes(t *testing.T, db *store.DB) []string {
	t.Helper()
	var hs []string
	if err := db.Reader().Select(&hs, "SELECT hash FROM audit_events ORDER BY seq"); err != nil {
		t.Fatal(err)
	}
	return hs
}

// A backup restored elsewhere holds the same rows and the same audit
// events, whose chain verifies; the restore itself is the one new event.
func TestBackupRestoreRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		file, s := backedUp(t, db)
		live := hashes(t, db)
		if st, _ := os.Stat(file); st == nil || st.Size() != s.Size || st.Mode().Perm() != 0o600 || s.Cases != 3 || s.Events != int64(len(live)) || s.Head != live[len(live)-1] || !s.Migrations.Current() {
			t.Fatalf("summary %+v does not describe the database (%d events)", s, len(live))
		}
		dst := target(t, db)
		r, err := store.Restore(ctx, "cli:ops", dst, file, store.BackupOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect == store.SQLite {
			// Only the database is left beside it: no temporary file, no
			// WAL of the copy.
			entries, _ := os.ReadDir(filepath.Dir(dst))
			if len(entries) != 1 {
				t.Fatalf("left beside the restored database: %v", entries)
			}
		}
		got := open(t, dst)
		n, err := got.VerifyAudit(ctx)
		if err != nil || n != s.Events+1 || r.Events != n {
			t.Fatalf("restored audit log: %d events (summary %d), %v", n, r.Events, err)
		}
		if h := hashes(t, got); strings.Join(h[:len(live)], ",") != strings.Join(live, ",") {
			t.Fatal("the restored audit events differ from the original's")
		}
		ev, err := got.Events(ctx, "database", "backup")
		if err != nil || len(ev) != 1 || ev[0].Action != "database.restore" || ev[0].Actor != "cli:ops" || !strings.Contains(string(ev[0].After), s.Head) {
			t.Fatalf("restore event: %+v %v", ev, err)
		}
		want, have := tables(t, db), tables(t, got)
		if len(want) < 10 || len(want["case_notes"]) != 3 {
			t.Fatalf("too little compared: %d tables", len(want))
		}
		for name, rows := range want {
			if strings.Join(rows, "\n") != strings.Join(have[name], "\n") {
				t.Errorf("table %s differs after the round trip:\n got %v\nwant %v", name, have[name], rows)
			}
		}
	})
}

// The server keeps writing during a backup: a writer goroutine adds cases
// throughout, and a write transaction stays open across a whole backup,
// which must neither wait for it nor contain its uncommitted event.
func TestBackupIsOnline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		populate(t, db)
		stop, done := make(chan struct{}), make(chan error, 1)
		req := request(t, "subpoena.json")
		var once sync.Once
		first := make(chan struct{})
		go func() {
			for {
				_, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: req, Decision: decision(cases.OutcomeApprove)})
				once.Do(func() { close(first) })
				select {
				case <-stop:
					done <- err
					return
				default:
					if err != nil {
						done <- err
						return
					}
				}
			}
		}()
		<-first
		file := filepath.Join(t.TempDir(), "during-writes")
		s, err := store.Backup(ctx, db.DSN, file, store.BackupOptions{})
		close(stop)
		if werr := <-done; werr != nil || err != nil {
			t.Fatalf("backup %v; writer %v", err, werr)
		}
		live := open(t, db.DSN)
		if n, _ := live.CountCases(ctx); s.Cases < 4 || s.Cases > n {
			t.Fatalf("backup holds %d cases, the database %d", s.Cases, n)
		}
		// What the backup holds is exactly the database's first events.
		restored := target(t, db)
		if _, err := store.Restore(ctx, "cli:ops", restored, file, store.BackupOptions{}); err != nil {
			t.Fatal(err)
		}
		if h, l := hashes(t, open(t, restored)), hashes(t, live); strings.Join(h[:s.Events], ",") != strings.Join(l[:s.Events], ",") {
			t.Fatal("the backup is not a prefix of the database's history")
		}

		var inTx *store.Summary
		err = db.Tx(ctx, func(tx *sqlx.Tx) error {
			if err := db.Audit(ctx, tx, "ivy@example.org", "test.pending", "test", "1", nil, nil); err != nil {
				return err
			}
			var err error
			inTx, err = store.Backup(ctx, db.DSN, filepath.Join(t.TempDir(), "open-tx"), store.BackupOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("backup beside an open write transaction: %v", err)
		}
		after, _ := live.VerifyAudit(ctx)
		if inTx.Events != after-1 {
			t.Fatalf("backup holds %d events, the database %d after the transaction: not its snapshot", inTx.Events, after)
		}
	})
}

// tamper edits or deletes audit rows of a database behind the triggers'
// back, the way an attacker with file or superuser access would.
var tamper = map[string]struct {
	stmts map[store.Dialect][]string
	want  string // what the error says
}{
	"edit": {map[store.Dialect][]string{
		store.SQLite:   {"DROP TRIGGER audit_events_no_update", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"},
		store.Postgres: {"DROP TRIGGER audit_events_no_change ON audit_events", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"},
	}, "audit event 3 (case.create case 1) was altered"}, // logging a case lists no agency
	"delete newest": {map[store.Dialect][]string{
		store.SQLite:   {"DROP TRIGGER audit_events_no_delete", "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)"},
		store.Postgres: {"DROP TRIGGER audit_events_no_change ON audit_events", "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)"},
	}, "events were deleted from the end"},
}

// A database whose audit log was tampered with is not backed up, and a
// backup made of it anyway (or edited afterwards) is not restored; the
// error names the problem and the target is left alone.
func TestBackupAndRestoreRefuseTamperedAuditLog(t *testing.T) {
	for name, tt := range tamper {
		t.Run(name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				populate(t, db)
				for _, s := range tt.stmts[db.Dialect] {
					if _, err := db.Writer().Exec(s); err != nil {
						t.Fatal(err)
					}
				}
				dir := t.TempDir()
				file := filepath.Join(dir, "backup")
				_, err := store.Backup(ctx, db.DSN, file, store.BackupOptions{})
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("backup of a tampered database: %v", err)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Fatalf("a failed backup left %v", entries)
				}
				rawCopy(t, db, file)
				dst := target(t, db)
				_, err = store.Restore(ctx, "cli:ops", dst, file, store.BackupOptions{})
				if cases.ErrorCode(err) != cases.EINVALID || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "nothing was restored") {
					t.Fatalf("restore of a tampered backup: %v", err)
				}
				assertEmpty(t, dst)
			})
		})
	}
}

// rawCopy copies a database without envelope's checks: what an operator
// who bypassed envelope backup would have.
func rawCopy(t *testing.T, db *store.DB, file string) {
	t.Helper()
	if db.Dialect == store.SQLite {
		if _, err := db.Writer().Exec("VACUUM INTO ?", file); err != nil {
			t.Fatal(err)
		}
		return
	}
	out, err := exec.Command("pg_dump", "--format=custom", "--file="+file, "--dbname="+db.DSN).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v %s", err, out)
	}
}

// assertEmpty checks a restore target was not written: no file, or a
// database without tables.
func assertEmpty(t *testing.T, dsn string) {
	t.Helper()
	if !store.IsPostgres(dsn) {
		if _, err := os.Stat(dsn); !os.IsNotExist(err) {
			t.Fatalf("%s was written: %v", dsn, err)
		}
		if entries, _ := os.ReadDir(filepath.Dir(dsn)); len(entries) != 0 {
			t.Fatalf("left beside the target: %v", entries)
		}
		return
	}
	var n int
	if err := open(t, dsn).Reader().Get(&n, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"); err != nil || n != 0 {
		t.Fatalf("%d tables in the target (%v)", n, err)
	}
}

// A SQLite backup edited after it was written, and damaged files of either
// engine, are refused before anything is written.
func TestRestoreRefusesDamagedBackup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		file, _ := backedUp(t, db)
		good, _ := os.ReadFile(file)
		damage := map[string]func(t *testing.T) []byte{
			"cut short":      func(t *testing.T) []byte { return good[:len(good)*2/3] },
			"garbage inside": func(t *testing.T) []byte { return overwrite(good, len(good)/2, 4096) },
			"not a backup":   func(t *testing.T) []byte { return []byte("hello\n") },
		}
		if db.Dialect == store.SQLite {
			damage["audit row edited"] = func(t *testing.T) []byte {
				edited := filepath.Join(t.TempDir(), "edited")
				os.WriteFile(edited, good, 0o600)
				x, err := sqlx.Open("sqlite3", edited)
				if err != nil {
					t.Fatal(err)
				}
				defer x.Close()
				for _, s := range tamper["edit"].stmts[store.SQLite] {
					if _, err := x.Exec(s); err != nil {
						t.Fatal(err)
					}
				}
				x.Close()
				b, _ := os.ReadFile(edited)
				return b
			}
		}
		for name, f := range damage {
			t.Run(name, func(t *testing.T) {
				bad := filepath.Join(t.TempDir(), "bad")
				os.WriteFile(bad, f(t), 0o600)
				dst := target(t, db)
				_, err := store.Restore(ctx, "cli:ops", dst, bad, store.BackupOptions{})
				if cases.ErrorCode(err) != cases.EINVALID || !strings.Contains(err.Error(), bad) {
					t.Fatalf("restore of a damaged backup: %v", err)
				}
				t.Log(err)
				assertEmpty(t, dst)
			})
		}
	})
}

func overwrite(b []byte, at, n int) []byte {
	out := append([]byte(nil), b...)
	for i := at; i < at+n && i < len(out); i++ {
		out[i] = byte(i * 7)
	}
	return out
}

// Restore replaces a database that holds data only when forced, and a
// fresh one (migrated, nothing happened) without asking; an existing
// backup file is replaced only when forced.
func TestBackupRestoreRefuseToOverwrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		file, _ := backedUp(t, db)
		before, _ := os.ReadFile(file)
		user(t, db, "newer@example.org", cases.RoleAdmin)
		if _, err := store.Backup(ctx, db.DSN, file, store.BackupOptions{}); cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("backup over an existing file: %v", err)
		}
		if after, _ := os.ReadFile(file); string(after) != string(before) {
			t.Fatal("a refused backup changed the existing file")
		}
		s, err := store.Backup(ctx, db.DSN, file, store.BackupOptions{Force: true})
		if err != nil || s.Events != int64(len(hashes(t, db))) {
			t.Fatalf("forced backup: %+v %v", s, err)
		}
		if db.Dialect == store.SQLite {
			for _, self := range []string{db.DSN, db.DSN + "-wal"} {
				if _, err := store.Backup(ctx, db.DSN, self, store.BackupOptions{Force: true}); cases.ErrorCode(err) != cases.EINVALID || !strings.Contains(err.Error(), "the database itself") {
					t.Fatalf("backup over the database: %v", err)
				}
			}
			if _, err := db.VerifyAudit(ctx); err != nil {
				t.Fatal(err)
			}
		}

		// A fresh database (as serve creates it) is replaced without --force.
		fresh := target(t, db)
		if f, err := store.Open(ctx, fresh); err != nil {
			t.Fatal(err)
		} else {
			f.Close()
		}
		if _, err := store.Restore(ctx, "cli:ops", fresh, file, store.BackupOptions{}); err != nil {
			t.Fatalf("restore into a fresh database: %v", err)
		}
		// Now it holds data: refused, and left as it was.
		was := hashes(t, open(t, fresh))
		_, err = store.Restore(ctx, "cli:ops", fresh, file, store.BackupOptions{})
		if cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), "holds data") || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("restore over data: %v", err)
		}
		if now := hashes(t, open(t, fresh)); len(now) != len(was) {
			t.Fatal("a refused restore changed the database")
		}
		r, err := store.Restore(ctx, "cli:ops", fresh, file, store.BackupOptions{Force: true})
		if err != nil || r.Events != s.Events+1 {
			t.Fatalf("forced restore: %+v %v", r, err)
		}
		if got := open(t, fresh); len(hashes(t, got)) != int(s.Events+1) {
			t.Fatal("forced restore did not replace the database")
		}
	})
}

// The PostgreSQL client tools get the password in their environment, never
// on their command line, and their absence is explained with what to run.
func TestBackupPostgresTools(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	populate(t, db)
	db.Close()
	const secret = "s3cret-pw"
	withPassword := strings.Replace(dsn, "postgres@", "postgres:"+secret+"@", 1)
	if withPassword == dsn {
		t.Fatalf("test DSN %s has no user to add a password to", dsn)
	}

	_, err = store.Backup(ctx, withPassword, filepath.Join(t.TempDir(), "b"), store.BackupOptions{PGBin: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "pg_dump not found") || !strings.Contains(err.Error(), "pg_dump --format=custom") || strings.Contains(err.Error(), secret) {
		t.Fatalf("without pg_dump: %v", err)
	}

	// Wrappers record how the real tools were called.
	bin, log := t.TempDir(), filepath.Join(t.TempDir(), "calls")
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		real, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $* PGPASSWORD=$PGPASSWORD\" >> %s\nexec %s \"$@\"\n", tool, log, real)
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "b")
	if _, err := store.Backup(ctx, withPassword, file, store.BackupOptions{PGBin: bin}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Restore(ctx, "cli:ops", storetest.PostgresDSN(t)+"&password="+secret, file, store.BackupOptions{PGBin: bin}); err != nil {
		t.Fatal(err)
	}
	// An existing file is refused before pg_dump runs, not after.
	if _, err := store.Backup(ctx, withPassword, file, store.BackupOptions{PGBin: bin}); cases.ErrorCode(err) != cases.ECONFLICT {
		t.Fatalf("backup over a file: %v", err)
	}
	calls, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(calls)), "\n")
	if len(lines) != 4 { // dump, read back; read back, restore
		t.Fatalf("calls: %q", calls)
	}
	for _, l := range lines {
		args, env, _ := strings.Cut(l, " PGPASSWORD=")
		if strings.Contains(args, secret) {
			t.Errorf("password on the command line: %s", l)
		}
		if reads := strings.Contains(args, "--file=-"); reads != (env == "") {
			t.Errorf("password given to the wrong calls: %s", l)
		}
	}
}

// A database written by a newer release is neither backed up as current
// nor restored; one behind this build is backed up and reported so.
func TestCheckMigrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		m, err := db.Migrations(ctx)
		if err != nil || !m.Current() || m.Version != m.Latest || m.Version < 6 {
			t.Fatalf("fresh database: %+v %v", m, err)
		}
		db.Writer().MustExec(db.Writer().Rebind("DELETE FROM goose_db_version WHERE version_id = ?"), m.Latest)
		if m, _ := db.Migrations(ctx); m.Current() || len(m.Pending) != 1 || m.Pending[0] != m.Latest || !strings.Contains(m.String(), "not applied") {
			t.Fatalf("a migration not applied: %+v", m)
		}
		if s, err := store.Backup(ctx, db.DSN, filepath.Join(t.TempDir(), "b"), store.BackupOptions{}); err != nil || len(s.Migrations.Pending) != 1 {
			t.Fatalf("backup of a database behind this build: %+v %v", s, err)
		}
		db.Writer().MustExec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, TRUE)")
		if _, err := db.Check(ctx); err == nil || !strings.Contains(err.Error(), "migration(s) 99") || !strings.Contains(err.Error(), "newer release") {
			t.Fatalf("database of a newer release: %v", err)
		}
		if _, err := store.Backup(ctx, db.DSN, filepath.Join(t.TempDir(), "b"), store.BackupOptions{}); err == nil || !strings.Contains(err.Error(), "newer release") {
			t.Fatalf("backup of a newer release's database: %v", err)
		}
	})
}

// A SQLite database that crashed leaves its WAL behind; restoring over it
// must not let SQLite replay that WAL into the restored file.
func TestRestoreOverCrashedSQLite(t *testing.T) {
	db := storetest.SQLite(t)
	file, s := backedUp(t, db)
	// Copy the database while it is open and has a WAL: what a crash
	// leaves on disk.
	for i := 0; i < 5; i++ {
		user(t, db, fmt.Sprintf("later%d@example.org", i), cases.RoleIntake)
	}
	crashed := filepath.Join(t.TempDir(), "envelope.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(db.DSN + suffix)
		if err != nil || (suffix == "-wal" && len(b) == 0) {
			t.Fatalf("%s: %d bytes, %v", suffix, len(b), err)
		}
		os.WriteFile(crashed+suffix, b, 0o600)
	}
	if _, err := store.Restore(ctx, "cli:ops", crashed, file, store.BackupOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	got := open(t, crashed)
	if n, err := got.VerifyAudit(ctx); err != nil || n != s.Events+1 {
		t.Fatalf("restored over a crashed database: %d events (backup %d), %v", n, s.Events, err)
	}
	if _, err := got.UserByEmail(ctx, "later0@example.org"); err == nil {
		t.Fatal("the old WAL was replayed into the restored database")
	}
}

// pg_restore runs in one transaction: when it fails half-way, the
// database is as it was.
func TestFailedPostgresRestoreChangesNothing(t *testing.T) {
	src := storetest.Postgres(t)
	file, _ := backedUp(t, src)
	dst := storetest.Postgres(t)
	populate(t, dst)
	user(t, dst, "only-here@example.org", cases.RoleAdmin)
	// A view of the operator's own on users: --clean cannot drop users,
	// after it has dropped the tables that come before it.
	dst.Writer().MustExec("CREATE VIEW user_emails AS SELECT email FROM users")
	before, was := tables(t, dst), hashes(t, dst)
	_, err := store.Restore(ctx, "cli:ops", dst.DSN, file, store.BackupOptions{Force: true})
	if err == nil || !strings.Contains(err.Error(), "pg_restore failed") {
		t.Fatalf("restore over a dependent view: %v", err)
	}
	after := open(t, dst.DSN)
	if n, err := after.VerifyAudit(ctx); err != nil || n != int64(len(was)) {
		t.Fatalf("after a failed restore: %d events, %v; before it %d", n, err, len(was))
	}
	if now := hashes(t, after); strings.Join(now, ",") != strings.Join(was, ",") {
		t.Fatal("a failed restore changed the audit log")
	}
	now := tables(t, after)
	for name, rows := range before {
		if strings.Join(rows, "\n") != strings.Join(now[name], "\n") {
			t.Errorf("table %s changed by a failed restore", name)
		}
	}
}

// OpenExisting changes nothing: a SQLite file keeps its journal mode and
// its bytes, no WAL appears beside it, and a write through it fails.
func TestOpenExistingChangesNothing(t *testing.T) {
	db := storetest.SQLite(t)
	file, _ := backedUp(t, db)
	before, _ := os.ReadFile(file)
	got, err := store.OpenExisting(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := got.Reader().Get(&mode, "PRAGMA journal_mode"); err != nil || mode == "wal" {
		t.Fatalf("journal mode of a backup: %q %v", mode, err)
	}
	if _, err := got.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := got.Writer().Exec("DELETE FROM cases"); err == nil {
		t.Error("a write through OpenExisting succeeded")
	}
	got.Close()
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Error("OpenExisting changed the file")
	}
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
		t.Errorf("beside the file: %v", entries)
	}
}
