package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"

	"envelope/cases"
)

// Summary describes a database or a backup of one: what backup, restore
// and doctor print about it.
type Summary struct {
	Migrations *MigrationState
	Cases      int64
	Events     int64  // audit events, all verified
	Head       string // the hash of the newest audit event
	Size       int64  // bytes of the backup file, when there is one
}

// BackupOptions tune Backup and Restore.
type BackupOptions struct {
	// Force lets Backup replace an existing file, and Restore replace a
	// database that holds data (on PostgreSQL: pg_restore --clean).
	Force bool
	// PGBin is the directory of pg_dump and pg_restore; empty searches PATH.
	PGBin string
}

// OpenExisting opens a database that must already exist, for commands
// that inspect it (doctor, the checks of a restore), which must report an
// old schema, not upgrade it: it creates, migrates and changes nothing. A
// SQLite file is opened read-only, its journal mode left as it is (connect
// would switch it to WAL), so nothing can be written through it. On
// PostgreSQL it is an ordinary connection, which only reads if its caller
// does.
func OpenExisting(ctx context.Context, dsn string) (*DB, error) {
	if err := mustExist(dsn); err != nil {
		return nil, err
	}
	if IsPostgres(dsn) {
		return connect(ctx, dsn)
	}
	db, err := openReadOnly(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dsn, err)
	}
	return db, nil
}

// mustExist checks a SQLite database file exists: opening one creates it.
func mustExist(dsn string) error {
	if IsPostgres(dsn) {
		return nil
	}
	if _, err := os.Stat(dsn); err != nil {
		return fmt.Errorf("database %s: %w", dsn, err)
	}
	return nil
}

// openReadOnly opens a SQLite file that nothing may change: a backup.
// Unlike connect it leaves the journal mode alone, so a backup stays one
// self-contained file.
func openReadOnly(ctx context.Context, path string) (*DB, error) {
	x, err := sqlx.Open("sqlite3", "file:"+path+"?mode=ro&_loc=UTC&_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	db := &DB{Dialect: SQLite, DSN: path, w: x, r: x}
	if err := x.PingContext(ctx); err != nil {
		x.Close()
		return nil, err
	}
	return db, nil
}

// Check verifies a database the way a backup must be verified: the file is
// intact (SQLite's integrity check), every applied migration is one this
// build knows, and the audit chain verifies. Migrations that are still to
// be applied are reported in the summary, not refused: a backup from
// before an upgrade is migrated when the server next starts.
func (db *DB) Check(ctx context.Context) (*Summary, error) {
	if err := db.Integrity(ctx); err != nil {
		return nil, err
	}
	m, err := db.Migrations(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.UnknownErr(); err != nil {
		return nil, err
	}
	s := &Summary{Migrations: m}
	if s.Events, s.Head, err = db.AuditHead(ctx); err != nil {
		return nil, err
	}
	if err := db.r.GetContext(ctx, &s.Cases, "SELECT COUNT(*) FROM cases"); err != nil {
		return nil, fmt.Errorf("count cases: %w", err)
	}
	return s, nil
}

// DataDir returns the directory the database's files are in, so that the
// free space there can be measured: the SQLite file's folder, or the data
// directory of a PostgreSQL server on this host. "" means it is not here,
// or the server did not say (only privileged roles may ask).
func (db *DB) DataDir(ctx context.Context) string {
	if db.Dialect == SQLite {
		dir, _ := filepath.Abs(filepath.Dir(db.DSN))
		return dir
	}
	if !onThisHost(db.DSN) {
		return ""
	}
	var dir string
	if db.r.GetContext(ctx, &dir, "SHOW data_directory") != nil {
		return ""
	}
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// onThisHost reports whether a PostgreSQL URL names a server on this host:
// localhost, a Unix socket directory (named in the query,
// ?host=/var/run/postgresql, as url.Hostname is then empty) or no host at
// all (pgx then tries this host's sockets).
func onThisHost(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "" {
		h = u.Query().Get("host")
	}
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || h == "" || strings.HasPrefix(h, "/")
}

// Integrity runs SQLite's integrity check, which reads every page. A
// PostgreSQL server checks its own pages, so there it checks nothing.
func (db *DB) Integrity(ctx context.Context) error {
	if db.Dialect != SQLite {
		return nil
	}
	var problems []string
	if err := db.r.SelectContext(ctx, &problems, "PRAGMA integrity_check"); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// MigrationState compares the migrations a database has applied with the
// ones embedded in this build.
type MigrationState struct {
	Version int64   // the newest migration applied
	Latest  int64   // the newest migration this build has
	Pending []int64 // embedded but not applied
	Unknown []int64 // applied but not embedded: written by a newer build
}

// Current reports whether the database has exactly this build's schema.
func (m *MigrationState) Current() bool { return len(m.Pending) == 0 && len(m.Unknown) == 0 }

// UnknownErr explains a database written by a newer build, which this one
// must not run against or restore.
func (m *MigrationState) UnknownErr() error {
	if len(m.Unknown) == 0 {
		return nil
	}
	return fmt.Errorf("the database has migration(s) %s that this envelope does not know (it knows up to %d): it was written by a newer release",
		joinInts(m.Unknown), m.Latest)
}

func (m *MigrationState) String() string {
	switch {
	case len(m.Unknown) > 0:
		return m.UnknownErr().Error()
	case len(m.Pending) > 0:
		return fmt.Sprintf("at migration %d; %d of this build's migrations not applied yet (%s)", m.Version, len(m.Pending), joinInts(m.Pending))
	}
	return fmt.Sprintf("at migration %d, the latest", m.Version)
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, ", ")
}

// gooseRow is a row of goose's version table. A version counts as applied
// when its newest row says so (older goose versions recorded rollbacks as
// rows with is_applied false).
type gooseRow struct {
	Version int64 `db:"version_id"`
	Applied bool  `db:"is_applied"`
}

// Migrations reads which migrations the database has applied.
func (db *DB) Migrations(ctx context.Context) (*MigrationState, error) {
	var rows []gooseRow
	if err := db.r.SelectContext(ctx, &rows, "SELECT version_id, is_applied FROM goose_db_version ORDER BY id"); err != nil {
		return nil, fmt.Errorf("not an envelope database, or one never migrated: read goose_db_version: %w", err)
	}
	return migrationState(db.Dialect, rows)
}

func migrationState(d Dialect, rows []gooseRow) (*MigrationState, error) {
	embedded, err := embeddedVersions(d)
	if err != nil {
		return nil, err
	}
	applied := map[int64]bool{}
	for _, r := range rows {
		if r.Version != 0 { // goose's own initial row
			applied[r.Version] = r.Applied
		}
	}
	m := &MigrationState{Latest: embedded[len(embedded)-1]}
	for _, v := range embedded {
		if !applied[v] {
			m.Pending = append(m.Pending, v)
		}
	}
	for v, ok := range applied {
		if ok {
			m.Version = max(m.Version, v)
			if !slices.Contains(embedded, v) {
				m.Unknown = append(m.Unknown, v)
			}
		}
	}
	slices.Sort(m.Unknown)
	return m, nil
}

// embeddedVersions lists the versions of the migrations built in for d,
// in order.
func embeddedVersions(d Dialect) ([]int64, error) {
	entries, err := fs.ReadDir(migrations, "migrations/"+string(d))
	if err != nil {
		return nil, err
	}
	var vs []int64
	for _, e := range entries {
		if v, err := goose.NumericComponent(e.Name()); err == nil {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	slices.Sort(vs)
	return vs, nil
}

// Backup writes a consistent copy of the database named by dsn to path,
// while the server keeps writing. The copy is written to a temporary file
// beside path and checked (see Check) before it is synced and renamed into
// place, so path is either a complete, verified backup or untouched.
//
// SQLite is copied with VACUUM INTO from a read-only connection: one read
// transaction, so one point in time, and writers are not held up.
// PostgreSQL is dumped with pg_dump --format=custom, which reads one
// snapshot; the dump is then read back with pg_restore and checked.
func Backup(ctx context.Context, dsn, path string, opt BackupOptions) (*Summary, error) {
	if err := checkTarget(dsn, path, opt.Force); err != nil {
		return nil, err
	}
	tmp, err := tempFile(path)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	var s *Summary
	if IsPostgres(dsn) {
		s, err = dumpPostgres(ctx, dsn, tmp, opt.PGBin)
	} else {
		s, err = copySQLite(ctx, dsn, tmp)
	}
	if err != nil {
		return nil, err
	}
	if s.Size, err = syncFile(tmp); err != nil {
		return nil, err
	}
	return s, place(tmp, path, opt.Force)
}

// checkTarget refuses to overwrite a backup unless forced, and even then a
// path that is not a regular file, or is the database being backed up.
func checkTarget(dsn, path string, force bool) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return cases.Errorf(cases.EINVALID, "%s is not a regular file", path)
	case sameFile(st, dsn) || sameFile(st, dsn+"-wal"):
		return cases.Errorf(cases.EINVALID, "%s is the database itself: back it up to another file", path)
	case !force:
		return cases.Errorf(cases.ECONFLICT, "%s already exists: pass --force to replace it", path)
	}
	return nil
}

func sameFile(st fs.FileInfo, path string) bool {
	other, err := os.Stat(path)
	return err == nil && os.SameFile(st, other)
}

func copySQLite(ctx context.Context, dsn, tmp string) (*Summary, error) {
	if err := mustExist(dsn); err != nil {
		return nil, err
	}
	// Read-only: a backup can never change the database it copies.
	ro, err := openReadOnly(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dsn, err)
	}
	// VACUUM INTO writes into the empty file, keeping its mode.
	_, err = ro.r.ExecContext(ctx, "VACUUM INTO ?", tmp)
	ro.Close()
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", dsn, err)
	}
	return checkFile(ctx, tmp, "the copy")
}

// checkFile runs Check on a SQLite file; what names it in errors.
func checkFile(ctx context.Context, path, what string) (*Summary, error) {
	db, err := openReadOnly(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable SQLite database: %w", what, err)
	}
	defer db.Close()
	s, err := db.Check(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s failed its check: %w", what, err)
	}
	return s, nil
}

// Restore replaces the database named by dsn with the backup in path,
// after checking the backup: a damaged or tampered backup is refused and
// the database left alone. A database that holds data is replaced only
// with opt.Force. The restore is itself audited, as actor, in the restored
// database's chain, so the log shows where its history was rewound.
//
// The server must be stopped while a database is restored.
func Restore(ctx context.Context, actor, dsn, path string, opt BackupOptions) (*Summary, error) {
	if IsPostgres(dsn) {
		return restorePostgres(ctx, actor, dsn, path, opt)
	}
	return restoreSQLite(ctx, actor, dsn, path, opt.Force)
}

func restoreSQLite(ctx context.Context, actor, dsn, path string, force bool) (*Summary, error) {
	if err := refuseNonEmptySQLite(ctx, dsn, force); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
		return nil, fmt.Errorf("create the database folder: %w", err)
	}
	tmp, err := tempFile(dsn)
	if err != nil {
		return nil, err
	}
	defer removeSQLite(tmp)
	// The copy is what is checked and renamed into place, so what was
	// checked is exactly what is restored.
	if err := copyFile(path, tmp); err != nil {
		return nil, err
	}
	s, err := checkFile(ctx, tmp, "backup "+path)
	if err != nil {
		return nil, cases.Errorf(cases.EINVALID, "%v; nothing was restored", err)
	}
	db, err := connect(ctx, tmp)
	if err != nil {
		return nil, err
	}
	err = auditRestore(ctx, db, actor, path, s)
	db.Close() // checkpoints and removes the copy's WAL
	if err != nil {
		return nil, err
	}
	if _, err := syncFile(tmp); err != nil {
		return nil, err
	}
	// The old database's WAL and journal must go before the new file
	// arrives: SQLite would replay them into it.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dsn + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return s, place(tmp, dsn, true)
}

// refuseNonEmptySQLite refuses, unless forced, to replace a file that is
// not an envelope database in which nothing has happened yet.
func refuseNonEmptySQLite(ctx context.Context, dsn string, force bool) error {
	st, err := os.Stat(dsn)
	if errors.Is(err, fs.ErrNotExist) || force {
		return nil
	} else if err != nil {
		return err
	} else if st.Size() == 0 {
		return nil
	}
	var events int64
	db, err := openReadOnly(ctx, dsn)
	if err == nil {
		err = db.r.GetContext(ctx, &events, "SELECT seq FROM audit_head WHERE id = 1")
		db.Close()
	}
	switch {
	case err != nil:
		return cases.Errorf(cases.ECONFLICT, "%s exists and is not an envelope database (%v): pass --force to replace it", dsn, err)
	case events > 0:
		return cases.Errorf(cases.ECONFLICT, "%s holds data (%d audit events): pass --force to replace it", dsn, events)
	}
	return nil
}

// auditRestore records the restore in the restored database.
func auditRestore(ctx context.Context, db *DB, actor, path string, s *Summary) error {
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		return db.Audit(ctx, tx, actor, "database.restore", "database", filepath.Base(path), nil,
			map[string]any{"backup": filepath.Base(path), "backup_events": s.Events, "backup_head": s.Head})
	})
	if err != nil {
		return fmt.Errorf("record the restore in the audit log: %w", err)
	}
	s.Events++
	return db.r.GetContext(ctx, &s.Head, "SELECT hash FROM audit_head WHERE id = 1")
}

// tempFile creates an empty file beside path, readable by its owner only
// (a backup holds everything), on path's filesystem so that the rename
// into place is atomic.
func tempFile(path string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

func removeSQLite(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// syncFile flushes a file to disk and returns its size.
func syncFile(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}

// place renames tmp to path and syncs the directory, so the new name
// survives a power cut. Without replace an existing path is kept: link
// fails where rename would overwrite.
func place(tmp, path string, replace bool) error {
	var err error
	if replace {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); err == nil {
		err = os.Remove(tmp)
	}
	if errors.Is(err, fs.ErrExist) {
		return cases.Errorf(cases.ECONFLICT, "%s already exists: pass --force to replace it", path)
	} else if err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
