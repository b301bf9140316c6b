package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"envelope/cases/store/storetest"
	"envelope/exporter"
)

// listFiles lists every path under dir, for a before/after comparison.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		out = append(out, p)
		return err
	})
	return out
}

// `envelope verify` of a hostile archive fails naming each hostile entry,
// and writes nothing: not beside the package, not where the entries point.
func TestVerifyHostileZipWritesNothing(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "work")
	keys := filepath.Join(root, "keys")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := exporter.LoadOrCreateKey(keys); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(root, "abs-target")
	hostile := []string{"../slip-parent", abs, "records/../../slip-climb", "records/../../../slip-deep"}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range hostile {
		w, _ := zw.Create(name)
		w.Write([]byte("planted\n"))
	}
	link := &zip.FileHeader{Name: "records/link.csv"}
	link.SetMode(os.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(link)
	w.Write([]byte("../../../etc/passwd"))
	zw.Close()
	pkg := filepath.Join(work, "hostile.zip")
	if err := os.WriteFile(pkg, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cwdBefore := listFiles(t, ".")
	before := listFiles(t, root)

	code, out, errOut := cli(t, "", "", "verify", "--keys", keys, pkg)
	if code != 1 || !strings.Contains(errOut, "NOT intact") {
		t.Fatalf("verify: %d %q %q", code, out, errOut)
	}
	for _, name := range append(hostile, "records/link.csv") {
		if !strings.Contains(out, "FAILED "+name+": ") {
			t.Errorf("output does not name %s:\n%s", name, out)
		}
	}
	if after := listFiles(t, root); !slices.Equal(before, after) {
		t.Errorf("verify wrote files: before %v, after %v", before, after)
	}
	if after := listFiles(t, "."); !slices.Equal(cwdBefore, after) {
		t.Errorf("verify wrote into the working directory")
	}
	for _, p := range []string{abs, filepath.Join(root, "slip-parent"), filepath.Join(root, "slip-climb"), "../slip-parent"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
}

// captureDefaultLog sends the process-wide slog logger (the migrations log
// through it) to a buffer for the rest of the test. The handler serialises
// its writes; read the buffer once the server has stopped.
func captureDefaultLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &buf
}

// A database password given in the DSN never reaches the output: not when
// the database cannot be reached, not when the DSN does not parse, not in
// the usage text (which shows --db's default from ENVELOPE_DB).
func TestDSNPasswordNeverPrinted(t *testing.T) {
	const secret = "S3cret-DSN-pw"
	logs := captureDefaultLog(t)
	for _, tt := range []struct {
		name string
		env  string
		args []string
		code int
	}{
		{"unreachable", "", []string{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://envelope:" + secret + "@127.0.0.1:1/envelope?sslmode=disable&connect_timeout=5"}, 1},
		{"password in the query", "", []string{"audit", "verify", "--db", "postgres://envelope@127.0.0.1:1/envelope?connect_timeout=5&password=" + secret}, 1},
		{"unparsable", "", []string{"audit", "verify", "--db", "postgres://envelope:" + secret + "%zz@127.0.0.1:1/envelope"}, 1},
		{"usage from the environment", "postgres://envelope:" + secret + "@db.example:5432/envelope", []string{"serve", "--no-such-flag"}, 2},
		{"help from the environment", "postgres://envelope:" + secret + "@db.example:5432/envelope", []string{"serve", "--help"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
				if k == "ENVELOPE_DB" {
					return tt.env
				}
				return ""
			}}
			code := run(context.Background(), tt.args, a)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errb.String())
			}
			if errb.Len() == 0 {
				t.Fatal("nothing on stderr: the test would prove nothing")
			}
			for what, s := range map[string]string{"stdout": out.String(), "stderr": errb.String(), "log": logs.String()} {
				if strings.Contains(s, secret) {
					t.Errorf("%s holds the DSN password:\n%s", what, s)
				}
			}
		})
	}
}

// `serve` on PostgreSQL through a role with a password: the password is in
// nothing the process writes, from start-up and migration to shut-down.
func TestServeWithDSNPasswordLogsNoPassword(t *testing.T) {
	dsn, secret := postgresRoleDSN(t)
	logs := captureDefaultLog(t)
	srv := serveInProcess(t, "--db", dsn)
	for _, path := range []string{"/api/v1/cases", "/login", "/healthz"} {
		if resp, err := http.Get(srv.addr + path); err == nil {
			resp.Body.Close()
		}
	}
	resp, err := http.PostForm(srv.addr+"/login", url.Values{"email": {"nobody@example.org"}, "password": {"not the dsn password"}})
	if err == nil {
		resp.Body.Close()
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, srv.stderr.String())
	}
	if !strings.Contains(logs.String(), "applied migration") || !strings.Contains(srv.stderr.String(), "request") {
		t.Fatalf("the logs were not captured: the test would prove nothing\n%s\n%s", logs.String(), srv.stderr.String())
	}
	for what, s := range map[string]string{"stdout": srv.stdout, "stderr": srv.stderr.String(), "log": logs.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds the DSN password:\n%s", what, s)
		}
	}
}

// postgresRoleDSN creates, on the test server, a login role with a random
// password owning a fresh database, and returns a DSN that connects as it
// (password included) and the password. Both are dropped afterwards.
func postgresRoleDSN(t *testing.T) (string, string) {
	t.Helper()
	admin := os.Getenv(storetest.PostgresEnv)
	b := make([]byte, 8)
	rand.Read(b)
	role, secret := "envelope_role_"+hex.EncodeToString(b[:4]), "pw-"+hex.EncodeToString(b)
	adm, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		adm.Exec("DROP ROLE IF EXISTS " + role)
		adm.Close()
	})
	dsn := storetest.PostgresDSN(t) // skips, or fails in CI, without a server; its database is dropped before the role
	if _, err := adm.Exec("CREATE ROLE " + role + " LOGIN PASSWORD '" + secret + "'"); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.Exec("ALTER DATABASE " + strings.TrimPrefix(u.Path, "/") + " OWNER TO " + role); err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, secret)
	return u.String(), secret
}
