// Package storetest opens real databases for tests: a SQLite file in a
// temporary folder, and, where ENVELOPE_TEST_POSTGRES names a PostgreSQL
// server, a fresh database on it that is dropped afterwards. Every storage
// test runs against both through Each.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"envelope/cases/store"
)

// PostgresEnv names the variable holding an admin DSN of a PostgreSQL server
// on which tests may create and drop databases.
const PostgresEnv = "ENVELOPE_TEST_POSTGRES"

// Each runs fn once per database engine, as subtests "sqlite" and "postgres".
// In CI (CI=true) a missing PostgreSQL is a failure, not a skip, so the
// PostgreSQL half can never silently stop running.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite opens a migrated database in a new file under t.TempDir().
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "envelope.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresDSN creates a fresh database on the test server and returns its
// DSN; the database is dropped when the test ends. It skips (or, in CI,
// fails) the test when no server is configured.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL store tests", PostgresEnv)
		}
		t.Skipf("%s not set; skipping PostgreSQL", PostgresEnv)
	}
	adm, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open postgres admin: %v", err)
	}
	defer adm.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "envelope_test_" + hex.EncodeToString(b)
	if _, err := adm.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		adm, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer adm.Close()
		adm.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a migrated fresh database on the test server.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), PostgresDSN(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
