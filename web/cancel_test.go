package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"

	"envelope/cases"
	"envelope/cases/store/storetest"
)

// A request whose client went away is logged as cancelled (499), not as a
// 500 "internal error" with an ERROR line for someone to chase.
func TestCancelledRequestIsNoInternalError(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	var logBuf bytes.Buffer
	f.srv.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("POST", "/api/v1/cases", strings.NewReader(`{}`)).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+f.tokens[cases.RoleIntake])
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	log := logBuf.String()
	if w.Code != StatusClientClosed || strings.Contains(log, "level=ERROR") || !strings.Contains(log, "cancelled by its client") {
		t.Fatalf("a cancelled request: %d\n%s", w.Code, log)
	}
}

// A deadlock that outlasted store.DB.Tx's retries is a busy database: 503
// with Retry-After, not a 500 "internal error".
func TestContendedIsNoInternalError(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	var logBuf bytes.Buffer
	f.srv.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	f.srv.Engine().GET("/test/deadlock", func(c *gin.Context) {
		f.srv.apiError(c, fmt.Errorf("approve: %w", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}))
	})
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, httptest.NewRequest("GET", "/test/deadlock", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || strings.Contains(logBuf.String(), "level=ERROR") {
		t.Fatalf("a deadlock past its retries: %d %q\n%s", w.Code, w.Header().Get("Retry-After"), logBuf.String())
	}
}
