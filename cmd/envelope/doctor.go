package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"envelope/cases/blob"
	"envelope/cases/store"
	"envelope/exporter"
	"envelope/policy"
)

func init() {
	register(&command{name: "doctor", args: "[--db DSN] [--keys DIR] [--packages DIR] [--blobs db|file:///DIR|s3://BUCKET?...] [--min-free SIZE]",
		summary: "check configuration, database, migrations, policy, signing key, audit chain, disk space and packages; say what to fix", run: doctor})
}

// checkup prints one line per check, "ok   check: detail", "warn ..." or
// "FAIL check: problem — fix: what to do", and counts the failures.
type checkup struct {
	out    io.Writer
	failed int
	// noDB says why the checks that read the database cannot run, once
	// an earlier check found it unreachable or not an envelope database.
	noDB string
}

// needDB skips check, and reports false, when the database is not usable.
func (c *checkup) needDB(check string) bool {
	if c.noDB != "" {
		c.skip(check, c.noDB)
		return false
	}
	return true
}

func (c *checkup) ok(check, format string, args ...any) {
	fmt.Fprintf(c.out, "ok   %s: %s\n", check, fmt.Sprintf(format, args...))
}

func (c *checkup) fail(check, problem, fix string) {
	c.failed++
	fmt.Fprintf(c.out, "FAIL %s: %s — fix: %s\n", check, strings.ReplaceAll(problem, "\n", " "), fix)
}

func (c *checkup) warn(check, problem, fix string) {
	fmt.Fprintf(c.out, "warn %s: %s — fix: %s\n", check, problem, fix)
}

// skip reports a check that could not run because an earlier one failed.
func (c *checkup) skip(check, why string) {
	fmt.Fprintf(c.out, "skip %s: %s\n", check, why)
}

// doctorConfig is what doctor checks.
type doctorConfig struct {
	dsn, keys, packages string
	blobs               string // --blobs: where packages are stored
	minFree             uint64
}

func doctor(ctx context.Context, a *app, args []string) error {
	fs := a.flags("doctor")
	cfg := doctorConfig{minFree: 1 << 30}
	db := a.dbFlag(fs)
	keys, pkgs, blobs := a.keysFlag(fs), a.packagesFlag(fs), a.blobsFlag(fs)
	fs.Func("min-free", "fail when a filesystem has less free space than this (e.g. 500MiB, 2GiB; default 1GiB); under 5% free is a warning", func(s string) (err error) {
		cfg.minFree, err = parseSize(s)
		return err
	})
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	cfg.dsn, cfg.keys, cfg.packages, cfg.blobs = *db, *keys, *pkgs, *blobs
	c := &checkup{out: a.stdout}
	dsnOK, dirsOK := c.configuration(cfg)
	var s *store.DB
	if dsnOK {
		s = c.database(ctx, cfg.dsn)
	} else {
		c.noDB = "see configuration"
		c.skip("database", c.noDB)
	}
	if s != nil {
		defer s.Close()
	}
	c.migrations(ctx, s)
	c.policy(ctx, s)
	if dirsOK {
		c.signingKey(cfg.keys)
		c.auditKey(cfg.keys)
	} else {
		c.skip("signing key", "see configuration")
	}
	c.auditChain(ctx, s)
	c.diskSpace(ctx, s, cfg, dirsOK)
	if dirsOK {
		c.packagesWritable(cfg.packages)
		b := c.packageFiles(ctx, s, cfg.blobs)
		c.packageSigners(ctx, s, cfg, b)
		c.documentFiles(ctx, s, b)
	} else {
		c.skip("packages directory", "see configuration")
		c.skip("packages", "see configuration")
		c.skip("documents", "see configuration")
	}
	c.fileModes(cfg, dirsOK)
	if c.failed > 0 {
		return fmt.Errorf("%d check(s) failed", c.failed)
	}
	return nil
}

// configuration checks the settings themselves: a database URL that
// parses, and key and packages directories that exist. It reports which
// of the two are usable.
func (c *checkup) configuration(cfg doctorConfig) (dsnOK, dirsOK bool) {
	dsnOK, dirsOK = true, true
	if store.IsPostgres(cfg.dsn) {
		// Only a URL that does not parse is refused here: one without a
		// host (a Unix socket, ?host=/var/run/postgresql) or without a
		// database name is valid, and any other mistake shows when the
		// database check connects.
		if _, err := url.Parse(cfg.dsn); err != nil {
			dsnOK = false
			c.fail("configuration", fmt.Sprintf("the database URL %s does not parse as postgres://user@host:port/database", store.Redact(cfg.dsn)),
				"set --db or ENVELOPE_DB to a URL like postgres://envelope@db.internal:5432/envelope?sslmode=verify-full")
		}
	}
	dirs := []struct{ flag, env, path, what string }{
		{"keys", "ENVELOPE_KEYS", cfg.keys, "the package signing key"},
		{"packages", "ENVELOPE_PACKAGES", cfg.packages, "disclosure packages"},
	}
	for _, d := range dirs {
		st, err := os.Stat(d.path)
		if err == nil && st.IsDir() {
			continue
		}
		dirsOK = false
		problem := fmt.Sprintf("the directory of %s, %s, does not exist", d.what, d.path)
		if err == nil {
			problem = fmt.Sprintf("%s (for %s) is not a directory", d.path, d.what)
		}
		c.fail("configuration", problem, fmt.Sprintf("set --%s or %s to the directory serve uses (serve creates it on first start)", d.flag, d.env))
	}
	if dsnOK && dirsOK {
		c.ok("configuration", "database %s, keys %s, packages %s", store.Redact(cfg.dsn), cfg.keys, cfg.packages)
	}
	return dsnOK, dirsOK
}

const damaged = "stop serve, keep a copy of the damaged file, and restore the latest backup with envelope restore --force FILE"

// database opens the database without migrating or changing it (doctor
// reports pending migrations rather than apply them; a SQLite file is
// opened read-only) and checks its pages. It returns nil if the database
// cannot be opened.
func (c *checkup) database(ctx context.Context, dsn string) *store.DB {
	s, err := store.OpenExisting(ctx, dsn)
	if err != nil {
		c.noDB = "needs the database"
		switch {
		case store.IsPostgres(dsn): // before ErrNotExist: a missing socket is one
			c.fail("database", err.Error(), "check that the PostgreSQL server runs and that the URL's host, port, database, user and password are right")
		case errors.Is(err, fs.ErrNotExist):
			c.fail("database", err.Error(), "set --db or ENVELOPE_DB to the database serve uses, or restore a backup with envelope restore")
		default:
			c.fail("database", err.Error(), damaged)
		}
		return nil
	}
	if err := s.Integrity(ctx); err != nil {
		c.noDB = "needs an undamaged database"
		c.fail("database", err.Error(), damaged)
		return s
	}
	detail := "reachable (PostgreSQL)"
	if s.Dialect == store.SQLite {
		detail = "reachable (SQLite), integrity check ok"
	}
	c.ok("database", "%s", detail)
	return s
}

// migrations compares the applied migrations with this build's. A
// database without goose's table is not an envelope database at all, and
// the checks of its content are skipped.
func (c *checkup) migrations(ctx context.Context, s *store.DB) {
	if !c.needDB("migrations") {
		return
	}
	m, err := s.Migrations(ctx)
	switch {
	case err != nil:
		c.fail("migrations", err.Error(), "set --db or ENVELOPE_DB to the database serve uses")
		c.noDB = "needs an envelope database"
	case len(m.Unknown) > 0:
		c.fail("migrations", m.String(), "run the envelope release that wrote this database, or a newer one")
	case len(m.Pending) > 0:
		c.fail("migrations", m.String(), "take a backup (envelope backup FILE), then start envelope serve: it applies them")
	default:
		c.ok("migrations", "%s", m)
	}
}

// policy checks that the policy serve would put in force loads.
func (c *checkup) policy(ctx context.Context, s *store.DB) {
	if !c.needDB("policy") {
		return
	}
	src, stored, err := s.ActivePolicy(ctx)
	if err != nil {
		c.fail("policy", err.Error(), "see migrations")
		return
	}
	if !stored {
		c.ok("policy", "the embedded default, version %s", policy.Default().Version())
		return
	}
	p, err := policy.Load(src)
	if err != nil {
		c.fail("policy", "the policy in force does not load, so serve will not start: "+err.Error(),
			"put a policy that loads in force (PUT /api/v1/policy), or start serve with --policy FILE")
		return
	}
	c.ok("policy", "the stored policy, version %s", p.Version())
}

// signingKey checks the private key loads, is readable by its owner only,
// and that the public key recipients are given is its public half.
func (c *checkup) signingKey(dir string) {
	const check = "signing key"
	priv := filepath.Join(dir, exporter.PrivateKeyFile)
	k, err := exporter.LoadKey(dir)
	if errors.Is(err, fs.ErrNotExist) {
		c.fail(check, "no signing key in "+dir,
			"restore the key directory from its backup (packages already sent were signed with that key); only for a new installation, create one with envelope signing-key --keys "+dir)
		return
	} else if err != nil {
		c.fail(check, err.Error(), "restore "+priv+" from the key directory's backup")
		return
	}
	if st, err := os.Stat(priv); err == nil && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		c.fail(check, fmt.Sprintf("%s is readable by other users (mode %v)", priv, st.Mode().Perm()), "chmod 600 "+priv)
		return
	}
	pubPath := filepath.Join(dir, exporter.PublicKeyFile)
	if b, err := os.ReadFile(pubPath); err != nil || !bytes.Equal(b, k.PublicPEM()) {
		c.fail(check, pubPath+" is missing or is not the private key's public half",
			"run envelope signing-key --keys "+dir+", which rewrites it from the private key, and give recipients that key")
		return
	}
	c.ok(check, "Ed25519, fingerprint %s", k.Fingerprint())
}

func (c *checkup) auditChain(ctx context.Context, s *store.DB) {
	if !c.needDB("audit chain") {
		return
	}
	n, head, err := s.AuditHead(ctx)
	if err != nil {
		c.fail("audit chain", fmt.Sprintf("%v (after %d good events)", err, n),
			"treat it as an incident: do not write to the database, keep a copy, and compare it with your backups (restore one into a scratch database) to find what changed; see docs/operations.md")
		return
	}
	// The chain can end where the head says and the head's tree still
	// disagree with the events: a tail deleted and the head moved back.
	if rep, err := s.VerifyTree(ctx, nil); err != nil || rep.Recorded != nil || rep.Leaves != nil {
		if err == nil {
			err = errors.Join(rep.Recorded, rep.Leaves)
		}
		c.fail("audit chain", fmt.Sprintf("the audit tree does not match the log: %v", err),
			"treat it as an incident: do not write to the database, keep a copy, and compare it with your backups (restore one into a scratch database) to find what changed; see docs/operations.md")
		return
	}
	c.ok("audit chain", "%d events verified, head %s", n, head)
}

// diskSpace measures the free space where the database and the packages
// are: below --min-free a write may soon fail, and that is a failure;
// below 5% it is a warning.
func (c *checkup) diskSpace(ctx context.Context, s *store.DB, cfg doctorConfig, dirsOK bool) {
	places := []struct{ check, dir, why string }{
		{"disk space (database)", "", "needs the database"},
		{"disk space (packages)", "", "see configuration"},
	}
	if s != nil {
		places[0].dir, places[0].why = s.DataDir(ctx), "the database server is on another host or does not say where its data is: watch its disk there"
	}
	if dirsOK {
		places[1].dir = cfg.packages
	}
	for _, p := range places {
		if p.dir == "" {
			c.skip(p.check, p.why)
			continue
		}
		free, total, err := diskFree(p.dir)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			c.skip(p.check, "not measured on "+runtime.GOOS)
		case err != nil:
			c.skip(p.check, err.Error())
		default:
			c.diskVerdict(p.check, p.dir, free, total, cfg.minFree)
		}
	}
}

func (c *checkup) diskVerdict(check, dir string, free, total, minFree uint64) {
	const fix = "free space or grow the filesystem: when it is full, writes fail and packages cannot be produced"
	pct := float64(free) * 100 / float64(max(total, 1))
	msg := fmt.Sprintf("%s free of %s (%.0f%%) at %s", byteSize(int64(free)), byteSize(int64(total)), pct, dir)
	switch {
	case free < minFree:
		c.fail(check, fmt.Sprintf("only %s, under the minimum of %s", msg, byteSize(int64(minFree))), fix)
	case pct < 5:
		c.warn(check, "only "+msg, fix)
	default:
		c.ok(check, "%s", msg)
	}
}

func (c *checkup) packagesWritable(dir string) {
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		c.fail("packages directory", err.Error(), "let the user that runs serve write to "+dir+" (chown, then chmod 700)")
		return
	}
	f.Close()
	os.Remove(f.Name())
	c.ok("packages directory", "%s is writable", dir)
}

// blobsHint is doctor's advice when the blob store cannot be opened.
const blobsHint = "give --blobs the setting serve uses (db, file:///path, or s3://BUCKET?endpoint=...&region=... with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set as for serve)"

// packageFiles checks that every package the database records is in the
// blob store, unchanged: its SHA-256 is the one recorded. It returns the
// store, nil if it could not be opened (a bucket not reached).
func (c *checkup) packageFiles(ctx context.Context, s *store.DB, blobs string) blob.Store {
	if !c.needDB("packages") {
		return nil
	}
	b, err := blob.Open(ctx, blobs, s)
	if err != nil {
		c.fail("packages", err.Error(), blobsHint)
		return nil
	}
	var rows []storedSum
	if err := s.Reader().SelectContext(ctx, &rows, "SELECT file_name AS name, sha256 FROM packages ORDER BY id"); err != nil {
		c.fail("packages", err.Error(), "see migrations")
		return b
	}
	if bad := unlikeRecorded(ctx, b, rows); len(bad) > 0 {
		c.fail("packages", fmt.Sprintf("%d of %d package files are missing or altered: %s", len(bad), len(rows), firstFive(bad)),
			"restore them from the blob store's backup (the database's, with --blobs db; the database records each one's SHA-256), and check --blobs names the store serve uses")
		return b
	}
	c.ok("packages", "%d package file(s) present, SHA-256 as recorded", len(rows))
	return b
}

// documentFiles checks that every case document, attachment and thread
// file kept in the blob store is there, unchanged. b is nil if the store
// could not be opened (packageFiles failed already).
func (c *checkup) documentFiles(ctx context.Context, s *store.DB, b blob.Store) {
	if b == nil {
		c.skip("documents", "see packages")
		return
	}
	var rows []storedSum
	if err := s.Reader().SelectContext(ctx, &rows, `SELECT blob AS name, sha256 FROM case_documents WHERE blob <> ''
		UNION ALL SELECT blob, sha256 FROM case_attachments WHERE blob <> ''
		UNION ALL SELECT blob, sha256 FROM case_message_files WHERE blob <> '' ORDER BY 1`); err != nil {
		c.fail("documents", err.Error(), "see migrations")
		return
	}
	if bad := unlikeRecorded(ctx, b, rows); len(bad) > 0 {
		c.fail("documents", fmt.Sprintf("%d of %d case documents in the blob store are missing or altered: %s", len(bad), len(rows), firstFive(bad)),
			"restore them from the blob store's backup (the database's, with --blobs db), and check --blobs names the store serve uses")
		return
	}
	c.ok("documents", "%d case document(s) in the blob store present, SHA-256 as recorded", len(rows))
	if n, err := s.TrashedBlobs(ctx); err == nil && n > 0 {
		c.warn("documents", fmt.Sprintf("%d blob(s) of purged or never recorded documents are still to be deleted from the store", n),
			"a delete failed (the log says why); the next retention purge retries, or run envelope retention purge with the --blobs serve uses")
	}
}

// storedSum is a file in the blob store and the SHA-256 recorded for it.
type storedSum struct {
	Name string `db:"name"`
	Sum  string `db:"sha256"`
}

// unlikeRecorded reads every file of rows from b and returns those
// missing or whose SHA-256 is not the one recorded, each with why.
func unlikeRecorded(ctx context.Context, b blob.Store, rows []storedSum) []string {
	var bad []string
	for _, r := range rows {
		sum, err := blob.SHA256(ctx, b, r.Name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			bad = append(bad, r.Name+" (missing)")
		case err != nil:
			bad = append(bad, r.Name+" ("+err.Error()+")")
		case sum != r.Sum:
			bad = append(bad, r.Name+" (altered: SHA-256 differs)")
		}
	}
	return bad
}

// firstFive lists at most five of bad, and how many more there are.
func firstFive(bad []string) string {
	more := ""
	if len(bad) > 5 {
		more, bad = " and "+strconv.Itoa(len(bad)-5)+" more", bad[:5]
	}
	return strings.Join(bad, ", ") + more
}

// parseSize reads a byte count with an optional binary unit: 1048576,
// 512KiB, 500MiB, 2GiB, 1TiB.
func parseSize(s string) (uint64, error) {
	num, mult := strings.TrimSpace(s), uint64(1)
	for i, unit := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		if n, ok := strings.CutSuffix(num, unit); ok {
			num, mult = strings.TrimSpace(n), 1<<(10*(i+1))
			break
		}
	}
	num = strings.TrimSuffix(num, "B")
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > ^uint64(0)/mult {
		return 0, fmt.Errorf("%q is not a size like 500MiB or 2GiB", s)
	}
	return n * mult, nil
}
