package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"envelope/cases/store"
	"envelope/policy"
	"envelope/web"
)

func TestLoadtest(t *testing.T) {
	db := filepath.Join(t.TempDir(), "load.db")
	if code, out, errOut := cli(t, db, "", "loadtest", "seed", "--cases", "3000"); code != 0 || !strings.Contains(out, "seeded 3000 cases") {
		t.Fatalf("seed: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := cli(t, db, "", "loadtest", "seed", "--cases", "10"); code != 1 || !strings.Contains(errOut, "already holds 3000 cases") {
		t.Errorf("seeding twice: %d %s", code, errOut)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(web.New(s, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer ts.Close()

	code, out, errOut := cli(t, db, "", "loadtest", "--url", ts.URL, "--db", db, "--clients", "3", "--duration", "2s", "--max-requests", "30",
		"--path", "/dashboard", "--path", "/cases?status=received&country=GB")
	if code != 0 || !strings.Contains(out, "/dashboard\n  3 clients, 30 requests") || !strings.Contains(out, "0 errors") || !strings.Contains(out, "p99") {
		t.Fatalf("loadtest: %d\n%s\n%s", code, out, errOut)
	}
	// A bad session is an error, not a page of redirects counted as fast.
	code, _, errOut = cli(t, db, "", "loadtest", "--url", ts.URL, "--cookie", "forged", "--duration", "1s", "--path", "/dashboard")
	if code != 1 || !strings.Contains(errOut, "status 303") {
		t.Errorf("forged cookie: %d %s", code, errOut)
	}
	// Loopback only.
	for _, u := range []string{"http://10.1.2.3:8080", "http://192.0.2.1"} {
		if code, _, errOut := cli(t, db, "", "loadtest", "--url", u, "--cookie", "x", "--path", "/dashboard"); code != 2 || !strings.Contains(errOut, "not a loopback address") {
			t.Errorf("%s: %d %s", u, code, errOut)
		}
	}
	if code, _, _ := cli(t, db, "", "loadtest", "--url", ts.URL, "--cookie", "x"); code != 2 {
		t.Errorf("no path: %d", code)
	}
}
