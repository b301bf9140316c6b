package agency_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/policy"
	"envelope/web/agency"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Without a mailer the verification link is logged, never dropped (serve
// --demo shows it this way).
func TestNoMailerLogsTheLink(t *testing.T) {
	db := storetest.SQLite(t)
	ag, err := db.CreateAgency(context.Background(), cases.System, store.AgencyEntry{Agency: cases.Agency{Name: "Drug Enforcement Administration", Country: "US", VerifiedDomains: []string{"dea.gov"}}, Phone: "+12023077977"})
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	agency.Register(e, agency.Deps{DB: db, Policy: policy.Default, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	form := url.Values{"agency": {fmt.Sprint(ag.ID)}, "email": {"ray@dea.gov"}, "name": {"SA Ray"}, "password": {"correct horse battery"}}
	req := httptest.NewRequest("POST", "/agency/register", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(log.String(), "/agency/verify?token=") || !strings.Contains(log.String(), "ray@dea.gov") {
		t.Fatalf("the link is not in the log:\n%s", log.String())
	}
}
