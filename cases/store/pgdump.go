package store

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// PostgreSQL is backed up with its own client tools: pg_dump writes a
// custom-format archive from one snapshot, pg_restore reads it back. To
// check an archive, pg_restore renders all of it as SQL (which reads and
// decompresses every block) and the rows of the audit log, its head, the
// migration table and the cases are taken from its COPY blocks.

// pgTool finds pg_dump or pg_restore in dir, or on PATH when dir is empty.
func pgTool(dir, name string) (string, error) {
	p, where := name, "on PATH"
	if dir != "" {
		p, where = filepath.Join(dir, name), "in "+dir
	}
	found, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("%s not found %s: install the PostgreSQL client tools, of the server's major version or newer "+
			"(Debian, Ubuntu: apt install postgresql-client), or name their directory with --pg-bin", name, where)
	}
	return found, nil
}

// pgClient holds how a client tool reaches a database: the DSN without its
// password for the command line, which other users can read in ps, and
// the password for the environment (PGPASSWORD).
type pgClient struct {
	dbname, password string
}

func newPGClient(dsn string) (*pgClient, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("the database URL does not parse: %w", err)
	}
	c := &pgClient{}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			c.password, u.User = p, url.User(u.User.Username())
		}
	}
	if q := u.Query(); q.Has("password") {
		c.password = q.Get("password")
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	c.dbname = u.String()
	return c, nil
}

// run runs a client tool; on failure its error output is returned with the
// password hidden, should the tool ever echo it.
func (c *pgClient) run(ctx context.Context, tool string, stdout io.Writer, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	// Timestamps in UTC, like everything else envelope writes.
	cmd.Env = append(os.Environ(), "PGTZ=UTC")
	if c.password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+c.password)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if c.password != "" {
			msg = strings.ReplaceAll(msg, c.password, "xxxxx")
		}
		return fmt.Errorf("%s failed (%v): %s", filepath.Base(tool), err, strings.ReplaceAll(msg, "\n", " "))
	}
	return nil
}

func dumpPostgres(ctx context.Context, dsn, tmp, bin string) (*Summary, error) {
	c, err := newPGClient(dsn)
	if err != nil {
		return nil, err
	}
	dump, err := pgTool(bin, "pg_dump")
	if err != nil {
		return nil, fmt.Errorf("%w; or back up by hand: pg_dump --format=custom --file=FILE --dbname='%s' "+
			"(password from PGPASSWORD or ~/.pgpass), then check FILE by restoring it into a scratch database with envelope restore", err, c.dbname)
	}
	if err := c.run(ctx, dump, nil, "--format=custom", "--file="+tmp, "--dbname="+c.dbname); err != nil {
		return nil, err
	}
	return readDump(ctx, bin, tmp, "the dump")
}

// readDump checks a pg_dump archive as Check checks a database: every
// block reads, the migrations are known, and the audit chain verifies.
// The audit rows are spooled into a temporary SQLite file, in whatever
// order the archive holds them, and verified there by VerifyAudit.
func readDump(ctx context.Context, bin, path, what string) (*Summary, error) {
	restore, err := pgTool(bin, "pg_restore")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "envelope-check-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	spool, err := connect(ctx, filepath.Join(dir, "audit.db"))
	if err != nil {
		return nil, err
	}
	defer spool.Close()
	if _, err := spool.w.ExecContext(ctx, spoolSchema); err != nil {
		return nil, err
	}
	var d dumpReader
	err = spool.Tx(ctx, func(tx *sqlx.Tx) error {
		d.tx = tx
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() { done <- copyBlocks(ctx, pr, d.block); pr.Close() }()
		err := (&pgClient{}).run(ctx, restore, pw, "--file=-", path)
		pw.CloseWithError(err)
		// A row that does not parse stops the reader, and so pg_restore
		// on a broken pipe: the row's error is the one to report.
		if perr := <-done; perr != nil {
			return perr
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable pg_dump archive of an envelope database: %w", what, err)
	}
	m, err := migrationState(Postgres, d.goose)
	if err == nil {
		err = m.UnknownErr()
	}
	if err != nil {
		return nil, fmt.Errorf("%s failed its check: %w", what, err)
	}
	s := &Summary{Migrations: m, Cases: d.cases}
	if s.Events, s.Head, err = spool.AuditHead(ctx); err != nil {
		return nil, fmt.Errorf("%s failed its check: %w", what, err)
	}
	return s, nil
}

const spoolSchema = `
CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL, actor TEXT NOT NULL,
	action TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL, before_json TEXT,
	after_json TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL);`

// dumpReader takes the rows it needs from an archive's COPY blocks.
type dumpReader struct {
	tx    *sqlx.Tx
	goose []gooseRow
	cases int64
}

var eventFields = []string{"seq", "at", "actor", "action", "entity", "entity_id", "before_json", "after_json", "prev_hash", "hash"}

// rowFunc takes one data row of a COPY block.
type rowFunc func(ctx context.Context, line []byte) error

// block returns what takes the rows of a table's COPY block, or nil for a
// table whose rows are not needed. The columns wanted are found once, here.
func (d *dumpReader) block(table string, cols []string) (rowFunc, error) {
	var row rowFunc
	var c *copyColumns
	var err error
	switch table {
	case "cases":
		row = func(context.Context, []byte) error { d.cases++; return nil }
	case "goose_db_version":
		if c, err = columns(cols, "version_id", "is_applied"); err == nil {
			row = func(_ context.Context, line []byte) error {
				f, err := c.fields(line)
				if err != nil {
					return err
				}
				var r gooseRow
				r.Version, err = strconv.ParseInt(f[0].String, 10, 64)
				r.Applied = f[1].String == "t"
				d.goose = append(d.goose, r)
				return err
			}
		}
	case "audit_head":
		if c, err = columns(cols, "id", "seq", "hash"); err == nil {
			row = func(ctx context.Context, line []byte) error {
				f, err := c.fields(line)
				if err == nil {
					_, err = d.tx.ExecContext(ctx, "INSERT INTO audit_head (id, seq, hash) VALUES (?, ?, ?)", f[0].String, f[1].String, f[2].String)
				}
				return err
			}
		}
	case "audit_events":
		if c, err = columns(cols, eventFields...); err == nil {
			row = func(ctx context.Context, line []byte) error { return d.event(ctx, c, line) }
		}
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", table, err)
	}
	if row == nil {
		return nil, nil
	}
	return func(ctx context.Context, line []byte) error {
		if err := row(ctx, line); err != nil {
			return fmt.Errorf("table %s: %w", table, err)
		}
		return nil
	}, nil
}

func (d *dumpReader) event(ctx context.Context, c *copyColumns, line []byte) error {
	f, err := c.fields(line)
	if err != nil {
		return err
	}
	at, err := parsePGTime(f[1].String)
	if err != nil {
		return err
	}
	args := make([]any, len(f))
	for i := range f {
		args[i] = f[i]
	}
	args[1] = at
	_, err = d.tx.ExecContext(ctx, "INSERT INTO audit_events ("+strings.Join(eventFields, ", ")+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args...)
	return err
}

// parsePGTime reads a timestamptz as PostgreSQL writes it in ISO style.
func parsePGTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999Z07", "2006-01-02 15:04:05.999999Z07:00", "2006-01-02 15:04:05.999999Z07:00:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp %q", s)
}

// copyBlocks reads the SQL that pg_restore writes. At each COPY block it
// calls block with the table's name (without its schema) and its columns;
// the rowFunc block returns, unless nil, is called with each data row.
func copyBlocks(ctx context.Context, r io.Reader, block func(table string, cols []string) (rowFunc, error)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var table string
	var row rowFunc
	inCopy := false
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			if inCopy {
				return fmt.Errorf("the data of table %s is cut short", table)
			}
			return nil
		} else if err != nil && err != io.EOF {
			return err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		switch {
		case inCopy && string(line) == `\.`:
			inCopy = false
		case inCopy:
			if row == nil {
				continue
			}
			if err := row(ctx, line); err != nil {
				return err
			}
		case bytes.HasPrefix(line, []byte("COPY ")) && bytes.HasSuffix(line, []byte(" FROM stdin;")):
			var cols []string
			table, cols = copyHeader(string(line))
			if row, err = block(table, cols); err != nil {
				return err
			}
			inCopy = true
		}
	}
}

// copyHeader parses `COPY public.t (a, b) FROM stdin;`.
func copyHeader(line string) (string, []string) {
	spec := strings.TrimSuffix(strings.TrimPrefix(line, "COPY "), " FROM stdin;")
	name, list, _ := strings.Cut(spec, " (")
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	var cols []string
	for _, c := range strings.Split(strings.TrimSuffix(list, ")"), ", ") {
		cols = append(cols, strings.Trim(c, `"`))
	}
	return strings.Trim(name, `"`), cols
}

// copyColumns is where the columns a reader wants are in a COPY block.
type copyColumns struct {
	n   int   // the block's columns
	idx []int // the index of each wanted column
}

// columns finds the wanted columns among a block's; each must be there.
func columns(cols []string, want ...string) (*copyColumns, error) {
	c := &copyColumns{n: len(cols), idx: make([]int, len(want))}
	for i, w := range want {
		if c.idx[i] = slices.Index(cols, w); c.idx[i] < 0 {
			return nil, fmt.Errorf("no column %s", w)
		}
	}
	return c, nil
}

// fields splits a row of COPY text and returns the wanted fields, in the
// order they were wanted; a NULL (\N) is not Valid.
func (c *copyColumns) fields(line []byte) ([]sql.NullString, error) {
	vals := bytes.Split(line, []byte("\t"))
	if len(vals) != c.n {
		return nil, fmt.Errorf("a row has %d fields for %d columns", len(vals), c.n)
	}
	out := make([]sql.NullString, len(c.idx))
	for i, j := range c.idx {
		if string(vals[j]) != `\N` {
			out[i] = sql.NullString{String: unescapeCopy(vals[j]), Valid: true}
		}
	}
	return out, nil
}

// copyEscapes maps COPY's one-letter escapes to the bytes they stand for.
var copyEscapes = [256]byte{'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}

// unescapeCopy decodes a field of COPY's text format: backslash escapes
// for control characters, octal and hex bytes, and the backslash itself.
func unescapeCopy(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		i++
		switch c := b[i]; {
		case copyEscapes[c] != 0:
			out = append(out, copyEscapes[c])
		case c == 'x':
			n, j := digits(b, i+1, 2, 16)
			if j == i+1 { // no digits: an escaped x
				out = append(out, 'x')
				continue
			}
			out, i = append(out, byte(n)), j-1
		case '0' <= c && c <= '7':
			n, j := digits(b, i, 3, 8)
			out, i = append(out, byte(n)), j-1
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// digits reads up to max digits of base (8 or 16) from b[i:], returning
// their value and the index after them.
func digits(b []byte, i, max int, base int) (int, int) {
	n, j := 0, i
	for ; j < len(b) && j-i < max; j++ {
		d := strings.IndexByte("0123456789abcdef"[:base], lower(b[j]))
		if d < 0 {
			break
		}
		n = n*base + d
	}
	return n, j
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

func restorePostgres(ctx context.Context, actor, dsn, path string, opt BackupOptions) (*Summary, error) {
	c, err := newPGClient(dsn)
	if err != nil {
		return nil, err
	}
	// Refusing a database that holds data is quick; reading the whole
	// backup is not.
	clean, err := refuseNonEmptyPostgres(ctx, dsn, opt.Force)
	if err != nil {
		return nil, err
	}
	want, err := readDump(ctx, opt.PGBin, path, "backup "+path)
	if err != nil {
		return nil, cases.Errorf(cases.EINVALID, "%v; nothing was restored", err)
	}
	restore, err := pgTool(opt.PGBin, "pg_restore")
	if err != nil {
		return nil, err
	}
	// One transaction: a failed restore leaves the database as it was.
	// Objects are owned by whoever restores, not by the original owner.
	args := []string{"--single-transaction", "--exit-on-error", "--no-owner"}
	if clean {
		args = append(args, "--clean", "--if-exists")
	}
	if err := c.run(ctx, restore, nil, append(args, "--dbname="+c.dbname, path)...); err != nil {
		return nil, err
	}
	db, err := connect(ctx, dsn) // not migrated: what was restored is checked
	if err != nil {
		return nil, err
	}
	defer db.Close()
	got, err := db.Check(ctx)
	if err != nil {
		return nil, fmt.Errorf("the restored database failed its check: %w", err)
	}
	if got.Events != want.Events || got.Head != want.Head || got.Cases != want.Cases {
		return nil, fmt.Errorf("the restored database does not match the backup: %d cases and %d audit events (head %s), the backup has %d and %d (head %s)",
			got.Cases, got.Events, got.Head, want.Cases, want.Events, want.Head)
	}
	return got, auditRestore(ctx, db, actor, path, got)
}

// refuseNonEmptyPostgres refuses, unless forced, to restore over a
// database that holds anything but an envelope schema in which nothing has
// happened yet. It reports whether pg_restore must first drop the objects
// the backup brings (--clean).
func refuseNonEmptyPostgres(ctx context.Context, dsn string, force bool) (clean bool, err error) {
	db, err := OpenExisting(ctx, dsn)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var tables int64
	if err := db.r.GetContext(ctx, &tables, `SELECT COUNT(*) FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'`); err != nil {
		return false, err
	}
	if tables == 0 {
		return false, nil
	}
	if force {
		return true, nil
	}
	var events int64
	if err := db.r.GetContext(ctx, &events, "SELECT seq FROM audit_head WHERE id = 1"); err != nil {
		return false, cases.Errorf(cases.ECONFLICT, "%s holds %d tables and is not an envelope database: restore into an empty database, or pass --force to replace the backup's tables (pg_restore --clean)", Redact(dsn), tables)
	} else if events > 0 {
		return false, cases.Errorf(cases.ECONFLICT, "%s holds data (%d audit events): restore into an empty database, or pass --force to replace it (pg_restore --clean)", Redact(dsn), events)
	}
	return true, nil
}
