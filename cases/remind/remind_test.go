package remind_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/remind"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

var ctx = context.Background()

func logCase(t *testing.T, db *store.DB, process cases.ProcessType, received, due time.Time, emergency bool) *cases.Case {
	t.Helper()
	req := &cases.Request{ReceivedAt: received, DueAt: &due,
		Agency:  cases.Agency{Name: "Agency", Country: "FR"},
		Process: cases.Process{Type: process, AuthorityRole: cases.RoleJudge},
		Targets: []cases.Target{{Kind: cases.TargetPhone, Value: "+33612345678"}}}
	if emergency {
		req.Emergency = &cases.Exigency{Description: "danger", ImminentHarm: true}
	}
	c, err := db.CreateCase(ctx, "intake@example.org", store.NewCase{Request: req, Decision: &cases.Decision{Outcome: cases.OutcomeApprove}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// receiver is an httptest webhook receiver that checks signatures and
// fails its first answer.
type receiver struct {
	mu     sync.Mutex
	calls  int
	events []remind.Event
	bad    int // bad signatures seen
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	body, _ := io.ReadAll(r.Body)
	want := remind.Sign([]byte("s3cret"), r.Header.Get("X-Envelope-Timestamp"), body)
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Envelope-Signature"))) {
		rc.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.calls == 1 { // a receiver that is down at first: envelope retries
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ev remind.Event
	json.Unmarshal(body, &ev)
	rc.events = append(rc.events, ev)
}

func TestDeadlineAtRiskAlertsEscalationAndWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		if _, _, err := db.CreateUser(ctx, "test", "sup@example.org", cases.RoleSupervisor); err != nil {
			t.Fatal(err)
		}
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		r := &remind.Reminder{DB: db, Config: remind.DefaultConfig, Webhook: &remind.Webhook{URL: srv.URL, Secret: []byte("s3cret"), Backoff: time.Millisecond}}
		if err := r.Outbox(ctx); err != nil { // the first run starts at the log's head
			t.Fatal(err)
		}

		// Ten days, six gone: at risk. Ten days, two gone: not yet.
		risky := logCase(t, db, cases.Subpoena, now.Add(-6*24*time.Hour), now.Add(4*24*time.Hour), false)
		logCase(t, db, cases.Subpoena, now.Add(-2*24*time.Hour), now.Add(8*24*time.Hour), false)
		// An EU emergency production order with 1h30 left: at risk; one
		// with 5 hours left: not yet.
		urgent := logCase(t, db, cases.EUProductionOrder, now.Add(-6*time.Hour-30*time.Minute), now.Add(90*time.Minute), true)
		logCase(t, db, cases.EUProductionOrder, now.Add(-3*time.Hour), now.Add(5*time.Hour), true)

		raised, _, err := r.Scan(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(raised) != 2 || raised[0].CaseID != urgent.ID || raised[1].CaseID != risky.ID {
			t.Fatalf("raised %+v", raised)
		}
		if again, _, _ := r.Scan(ctx, now); len(again) != 0 {
			t.Fatalf("raised twice: %+v", again)
		}
		evs, _ := db.Events(ctx, "case", strconv.FormatInt(risky.ID, 10))
		if evs[len(evs)-1].Action != "alert.raise" {
			t.Errorf("alert not audited: %+v", evs[len(evs)-1])
		}
		active, err := remind.Active(ctx, db, 10)
		if err != nil || len(active) != 2 || active[0].Number != urgent.Number {
			t.Fatalf("active: %+v %v", active, err)
		}

		// An hour later, the urgent case was touched, the other not: only
		// the untouched one escalates, to the supervisors.
		now = now.Add(30 * time.Minute)
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error { return db.SetStatus(ctx, tx, "rev@example.org", urgent, cases.StatusApproved) }); err != nil {
			t.Fatal(err)
		}
		now = now.Add(31 * time.Minute)
		_, escalated, err := r.Scan(ctx, now)
		if err != nil || len(escalated) != 1 || escalated[0].CaseID != risky.ID || escalated[0].EscalatedTo != "sup@example.org" {
			t.Fatalf("escalated %+v %v", escalated, err)
		}

		// New emergency and produced go out through the outbox.
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error {
			return db.Audit(ctx, tx, "rev@example.org", "case.export", "case", strconv.FormatInt(risky.ID, 10), nil, map[string]any{"package": "p.zip"})
		}); err != nil {
			t.Fatal(err)
		}
		if err := r.Outbox(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.Outbox(ctx); err != nil { // nothing twice
			t.Fatal(err)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		kinds := map[string]int{}
		for _, e := range rc.events {
			kinds[e.Event]++
		}
		if rc.bad != 0 || kinds["deadline.at_risk"] != 2 || kinds["case.emergency"] != 2 || kinds["case.produced"] != 1 || rc.calls != 6 {
			t.Errorf("webhooks: %v, %d calls, %d badly signed", kinds, rc.calls, rc.bad)
		}
		var rows []struct {
			Attempts    int        `db:"attempts"`
			DeliveredAt *time.Time `db:"delivered_at"`
		}
		if err := db.Reader().SelectContext(ctx, &rows, "SELECT attempts, delivered_at FROM webhook_deliveries ORDER BY id"); err != nil || len(rows) != 5 || rows[0].Attempts != 2 || rows[0].DeliveredAt == nil {
			t.Errorf("deliveries recorded: %+v %v", rows, err)
		}
	})
}

// A receiver that never accepts: the attempts are used up and recorded.
func TestWebhookGivesUpAndRecords(t *testing.T) {
	db := storetest.SQLite(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer srv.Close()
	w := &remind.Webhook{URL: srv.URL, Secret: []byte("k"), Attempts: 3, Backoff: time.Millisecond}
	if err := w.Deliver(ctx, db, 0, remind.Event{Event: "case.produced"}); err == nil {
		t.Fatal("a failing receiver counted as delivered")
	}
	var row struct {
		Attempts int    `db:"attempts"`
		Code     int    `db:"status_code"`
		Err      string `db:"last_error"`
	}
	if err := db.Reader().GetContext(ctx, &row, "SELECT attempts, status_code, last_error FROM webhook_deliveries"); err != nil || row.Attempts != 3 || row.Code != 500 || row.Err == "" {
		t.Errorf("%+v %v", row, err)
	}
}
