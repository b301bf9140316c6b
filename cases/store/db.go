// Package store keeps cases, users and the audit log in SQLite or PostgreSQL
// through sqlx. The same code and the same test suite serve both engines; the
// few differences (placeholders, locking, migrations) are kept here.
//
// # Lock order
//
// On PostgreSQL several transactions, of one instance or of many sharing the
// database, run at once. Every write transaction takes its row locks in
// this order, and never goes back to an earlier step:
//
//  1. the collection state (collection_state, lockCollection): collectors
//     (shared), approvals and closes whose hooks open or end windows, and
//     production cursors (metadata.LastPairID);
//  2. case rows (LockCase, an UPDATE of cases, or a row referencing a
//     case, which takes KEY SHARE on it), one case per transaction, or in
//     ascending ID;
//  3. other rows: users, agencies, settings, holds, windows, packages;
//  4. the audit head (audit_head), always last: Audit takes it, so after
//     Audit a transaction touches only rows it already holds or rows no
//     other transaction locks before the head (audit events, tree rows,
//     windows it inserts).
//
// SQLite needs none of this: its write transactions are serial.
//
// Rows of one table that many transactions insert with unique keys are
// inserted in key order (collected pairs, metadata.pairInserter): two
// transactions inserting the same keys in different orders each wait on
// the other's uncommitted key in the unique index.
//
// An order keeps deadlocks rare, not impossible (a foreign key check takes
// a lock the code does not spell out); Deadlocks counts those that happen
// anyway, and the burst tests fail on any (TestMixedWriteBurstNoDeadlock,
// TestBurstOnThreeInstances: two were found that way, a close indexing its
// note after the audit head and collectors inserting shared pairs in
// arrival order). So Tx is the one place that runs a
// transaction again when PostgreSQL aborts it for a deadlock (40P01) or a
// serialization failure (40001): a bounded number of attempts with jittered
// backoff (retry.go). Neither ever reaches a client as a 5xx.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	// The two engines: pgx is the maintained PostgreSQL driver;
	// go-sqlite3 embeds SQLite so a new user installs nothing.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3"
)

//go:embed migrations
var migrations embed.FS

// Dialect names a database engine.
type Dialect string

// Supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database. SQLite allows one writer at a time, so writes go
// through a pool of one connection (no "database is locked" between our own
// writers) while reads use a separate pool; on PostgreSQL both are the same.
type DB struct {
	Dialect Dialect
	DSN     string
	w       *sqlx.DB
	r       *sqlx.DB
	// Now returns the current time; tests replace it.
	Now func() time.Time

	onApprove []ApproveHook
	onClose   []CloseHook
	onReopen  []CloseHook

	commits   atomic.Uint64 // see Commits
	retries   atomic.Uint64 // see Retries
	deadlocks atomic.Uint64 // see Deadlocks

	directory atomic.Pointer[directory] // the agency directory's match index (agencies.go)
	due       atomic.Pointer[DueFunc]   // recomputes due_at after a clock event (due.go)

	files Files // where documents are stored (files.go); nil keeps them in their rows
}

// Commits counts the write transactions (Tx) this DB has committed. A reader
// that keeps what it read can compare it to tell whether its copy may be
// stale. Writes by other processes and other DB values of the same database
// are not counted, so such a copy must also age out.
func (db *DB) Commits() uint64 { return db.commits.Load() }

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn (a SQLite file path or a postgres://
// URL) and brings its schema up to date.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if !IsPostgres(dsn) {
		if err := createPrivate(dsn); err != nil {
			return nil, err
		}
	}
	db, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.buildTree(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("build the audit tree: %w", err)
	}
	return db, nil
}

// createPrivate creates a new SQLite file, and its folder, readable by
// its owner only (0600, folder 0700) whatever the umask: the database holds
// every case. SQLite gives its -wal and -shm files the database file's
// mode. An existing file is left as it is (doctor flags a loose mode).
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the database folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("create the database file: %w", err)
	}
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readers is the size of the SQLite read pool.
const readers = 48

// sqliteOptions are the connection settings of every SQLite pool. FULL
// sync: an acknowledged write survives a power cut, not just a crash. Each
// connection keeps its last 64 prepared statements: the portal's pages run
// the same dozen queries, and preparing them was a tenth of a dashboard.
const sqliteOptions = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_synchronous=FULL&_loc=UTC&_stmt_cache_size=64"

// connect opens the pools and checks the server answers; it neither
// creates folders nor migrates.
func connect(ctx context.Context, dsn string) (*DB, error) {
	db := &DB{DSN: dsn, Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	var err error
	if IsPostgres(dsn) {
		db.Dialect = Postgres
		if db.w, err = sqlx.Open("pgx", dsn); err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(dsn), err)
		}
		db.w.SetMaxOpenConns(20)
		// Keep them all open: database/sql keeps two idle connections by
		// default, so under load every other query paid a new connection
		// (TCP and authentication).
		db.w.SetMaxIdleConns(20)
		db.r = db.w
	} else {
		db.Dialect = SQLite
		// immediate transactions take the write lock up front, so a
		// transaction never fails half-way on lock upgrade.
		if db.w, err = sqlx.Open("sqlite3", "file:"+dsn+"?"+sqliteOptions+"&_txlock=immediate"); err != nil {
			return nil, fmt.Errorf("open %s: %w", dsn, err)
		}
		db.w.SetMaxOpenConns(1)
		if db.r, err = sqlx.Open("sqlite3", "file:"+dsn+"?"+sqliteOptions+"&_query_only=on"); err != nil {
			return nil, fmt.Errorf("open %s: %w", dsn, err)
		}
		// Enough readers that a busy portal's requests rarely queue for
		// one: database/sql hands a freed connection to a random waiter,
		// not the longest waiting, so with 8 connections and 50 clients a
		// few unlucky pages waited ten times the median. A reader costs
		// its page cache (2 MB at most). Keep them all open: with the
		// default of two idle connections, most requests reopened one
		// (reading the schema again).
		db.r.SetMaxOpenConns(readers)
		db.r.SetMaxIdleConns(readers)
	}
	if err := db.w.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(dsn), err)
	}
	return db, nil
}

// Close closes the connection pools.
func (db *DB) Close() error {
	if db.r != nil && db.r != db.w {
		db.r.Close()
	}
	if db.w != nil {
		return db.w.Close()
	}
	return nil
}

// Reader and Writer expose the pools to sibling packages (metadata, reports)
// that keep their own tables in the same database.
func (db *DB) Reader() *sqlx.DB { return db.r }

// Writer returns the pool writes must go through.
func (db *DB) Writer() *sqlx.DB { return db.w }

func (db *DB) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.Dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		// Several servers may start at once against one PostgreSQL.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, db.w.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate the database: %w", err)
	}
	for _, r := range results {
		slog.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// lockRow is the locking clause that makes a read-then-write safe against a
// concurrent writer. SQLite needs none: its write transactions are serial.
func (db *DB) lockRow() string {
	if db.Dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// Redact hides a password in a DSN so that it never reaches a log or the
// output of a command.
func Redact(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn // a file path
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(a URL that does not parse)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
