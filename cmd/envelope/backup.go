package main

import (
	"context"
	"flag"
	"fmt"

	"envelope/cases/store"
)

func init() {
	register(&command{name: "backup", args: "[--db DSN] [--force] [--pg-bin DIR] FILE",
		summary: "write a consistent, checked copy of the database to FILE, also while serve runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump)", run: backup})
	register(&command{name: "restore", args: "[--db DSN] [--force] [--pg-bin DIR] FILE",
		summary: "check a backup (integrity, migrations, audit chain) and restore it into the database; stop serve first", run: restore})
}

// backupFlags adds the flags backup and restore share.
func (a *app) backupFlags(fs *flag.FlagSet, force string) (*string, *store.BackupOptions) {
	db := a.dbFlag(fs)
	opt := &store.BackupOptions{}
	fs.BoolVar(&opt.Force, "force", false, force)
	fs.StringVar(&opt.PGBin, "pg-bin", a.getenv("ENVELOPE_PG_BIN"),
		"PostgreSQL: the directory of pg_dump and pg_restore, of the server's major version or newer (default: PATH; env ENVELOPE_PG_BIN)")
	return db, opt
}

func backup(ctx context.Context, a *app, args []string) error {
	fs := a.flags("backup")
	db, opt := a.backupFlags(fs, "replace FILE if it exists")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	s, err := store.Backup(ctx, *db, fs.Arg(0), *opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "backup %s: %s, %s; %s\n", fs.Arg(0), byteSize(s.Size), describe(s), s.Migrations)
	return nil
}

func restore(ctx context.Context, a *app, args []string) error {
	fs := a.flags("restore")
	db, opt := a.backupFlags(fs, "replace a database that holds data (PostgreSQL: pg_restore --clean)")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	s, err := store.Restore(ctx, a.actor(), *db, fs.Arg(0), *opt)
	if err != nil {
		return err
	}
	note := ""
	if !s.Migrations.Current() {
		note = "; serve applies the missing migrations when it starts"
	}
	fmt.Fprintf(a.stdout, "restored %s into %s: %s (the last records this restore); %s%s\n",
		fs.Arg(0), store.Redact(*db), describe(s), s.Migrations, note)
	return nil
}

func describe(s *store.Summary) string {
	return fmt.Sprintf("%d cases, %d audit events verified, audit head %s", s.Cases, s.Events, s.Head)
}

// byteSize renders a size in binary units: 1.5 GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
