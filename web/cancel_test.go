package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

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
