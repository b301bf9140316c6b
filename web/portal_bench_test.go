package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/policy"
)

// BenchmarkPortalPages renders portal pages in-process (no network, no
// request log) against the database named by ENVELOPE_LOADTEST_DB, which
// `envelope loadtest seed` fills with a million cases: what one request
// costs the server, to read next to the load test's latencies under
// concurrency (docs/performance.md).
func BenchmarkPortalPages(b *testing.B) {
	dsn := os.Getenv("ENVELOPE_LOADTEST_DB")
	if dsn == "" {
		b.Skip("ENVELOPE_LOADTEST_DB not set (see docs/performance.md)")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	srv := New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	u, err := db.UserByEmail(ctx, "loadtest@localhost")
	if cases.ErrorCode(err) == cases.ENOTFOUND {
		u, _, err = db.CreateUser(ctx, "bench", "loadtest@localhost", cases.RoleAuditor)
		if err == nil {
			err = db.SetPassword(ctx, "bench", u.Email, "bench password long enough", false)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	token, err := db.CreateSession(ctx, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct{ name, path string }{
		{"dashboard", "/dashboard"},
		{"status+country", "/cases?status=received&country=GB"},
		{"country+process", "/cases?country=BR&process=foreign_court_order"},
		{"due-week", "/cases?due=week&status=approved"},
		{"search", "/cases?q=%2B14155550042"},
	} {
		path := tt.path
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("%s: %d", path, w.Code)
				}
			}
		})
	}
}
