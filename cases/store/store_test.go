package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

var ctx = context.Background()

func request(t *testing.T, name string) *cases.Request {
	t.Helper()
	b, err := os.ReadFile("../../testdata/requests/" + name)
	if err != nil {
		t.Fatal(err)
	}
	req, err := cases.ParseRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func decision(outcome cases.Outcome) *cases.Decision {
	return &cases.Decision{Outcome: outcome, PolicyVersion: "sha256:test", DecidedAt: time.Date(2026, 11, 20, 9, 31, 0, 0, time.UTC),
		Allowed: []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "US-SUBPOENA"}}, Denied: []cases.Denied{}, Findings: []cases.Finding{},
		UserNotice: cases.NoticeNotify}
}

func user(t *testing.T, db *store.DB, email string, role cases.Role) *cases.User {
	t.Helper()
	u, pw, err := db.CreateUser(ctx, "test", email, role)
	if err != nil || pw == "" {
		t.Fatalf("create user: %v", err)
	}
	return u
}

// A case comes back identical after the database is closed and reopened.
func TestCaseRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, name := range []string{"pen_register.json", "emergency.json", "subpoena.json"} {
			req := request(t, name)
			want, _ := json.Marshal(req)
			c, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: req, Decision: decision(cases.OutcomePartial)})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(c.Number, "LR-2026-") || c.Status != cases.StatusReceived {
				t.Fatalf("new case: %s %s", c.Number, c.Status)
			}
			reopened, err := store.Open(ctx, db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			got, err := reopened.Case(ctx, c.Number)
			reopened.Close()
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got.Request)
			if string(gotJSON) != string(want) {
				t.Fatalf("%s changed in storage:\n got %s\nwant %s", name, gotJSON, want)
			}
			if got.Decision == nil || got.Decision.Outcome != cases.OutcomePartial || !got.Decision.DecidedAt.Equal(decision("").DecidedAt) {
				t.Fatalf("decision: %+v", got.Decision)
			}
			if got.ReceivedAt.Location() != time.UTC {
				t.Fatal("time not in UTC")
			}
		}
	})
}

func TestListCases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var ids []int64
		for i := 0; i < 7; i++ {
			for _, name := range []string{"pen_register.json", "emergency.json", "subpoena.json"} {
				c, err := db.CreateCase(ctx, "ivy@example.org", store.NewCase{Request: request(t, name), Decision: decision(cases.OutcomeApprove)})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, c.ID)
			}
		}
		due := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			name string
			f    cases.CaseFilter
			want int
		}{
			{"all", cases.CaseFilter{Limit: 100}, 21},
			{"country", cases.CaseFilter{Country: "gb"}, 7},
			{"process", cases.CaseFilter{Process: cases.Subpoena}, 7},
			{"status", cases.CaseFilter{Status: cases.StatusReceived}, 21},
			{"status none", cases.CaseFilter{Status: cases.StatusClosed}, 0},
			{"due before", cases.CaseFilter{DueBefore: &due}, 7},
			{"due after", cases.CaseFilter{DueAfter: &due}, 14},
			{"text: target", cases.CaseFilter{Query: "night_owl"}, 7},
			{"text: reference", cases.CaseFilter{Query: "3:26-MJ-70412"}, 7},
			{"text: number", cases.CaseFilter{Query: strings.ToLower(cases.CaseNumber(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ids[0]))}, 1},
			{"text: LIKE wildcard is literal", cases.CaseFilter{Query: "%"}, 0},
			{"text: injection is literal", cases.CaseFilter{Query: "' OR 1=1 --"}, 0},
			{"combined", cases.CaseFilter{Country: "US", Process: cases.PenRegister, Query: "reyes"}, 7},
		}
		for _, tt := range tests {
			p, err := db.ListCases(ctx, tt.f)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if len(p.Cases) != tt.want {
				t.Errorf("%s: %d cases, want %d", tt.name, len(p.Cases), tt.want)
			}
		}
		// Keyset paging visits every case once, newest first.
		seen := map[int64]bool{}
		var after, last int64 = 0, 1 << 62
		for pages := 0; ; pages++ {
			p, err := db.ListCases(ctx, cases.CaseFilter{Limit: 5, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Cases {
				if seen[c.ID] || c.ID >= last {
					t.Fatalf("page order broken at %d", c.ID)
				}
				seen[c.ID], last = true, c.ID
			}
			if p.Next == 0 {
				break
			}
			after = p.Next
		}
		if len(seen) != 21 {
			t.Fatalf("paging saw %d cases, want 21", len(seen))
		}
	})
}

func TestReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		rev := user(t, db, "rex@example.org", cases.RoleReviewer)
		c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Review(ctx, intake, c.Number, cases.StatusApproved, ""); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Fatalf("intake approving own case: %v", err)
		}
		got, err := db.Review(ctx, rev, c.Number, cases.StatusApproved, "looks right")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != cases.StatusApproved || got.Review.By != rev.Email || got.Review.Note != "looks right" {
			t.Fatalf("after approval: %+v %+v", got.Status, got.Review)
		}
		if _, err := db.Review(ctx, rev, c.Number, cases.StatusRejected, ""); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Fatalf("second verdict: %v", err)
		}
	})
}

// Two reviewers racing to decide one case: exactly one wins.
func TestReviewRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		var reviewers []*cases.User
		for _, e := range []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org"} {
			reviewers = append(reviewers, user(t, db, e, cases.RoleReviewer))
		}
		for round := 0; round < 5; round++ {
			c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			results := make(chan error, len(reviewers))
			for i, r := range reviewers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					verdict := cases.StatusApproved
					if i%2 == 1 {
						verdict = cases.StatusRejected
					}
					_, err := db.Review(ctx, r, c.Number, verdict, "")
					results <- err
				}()
			}
			wg.Wait()
			close(results)
			wins := 0
			for err := range results {
				if err == nil {
					wins++
				} else if cases.ErrorCode(err) != cases.ECONFLICT {
					t.Fatalf("loser got %v, want a conflict", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d reviewers won, want exactly 1", wins)
			}
			evs, _ := db.Events(ctx, "case", itoa(c.ID))
			n := 0
			for _, e := range evs {
				if e.Action == "case.approve" || e.Action == "case.reject" {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d verdicts audited, want 1", n)
			}
		}
	})
}

// A failure inside an approval's transaction leaves no trace: no status
// change and no audit event.
func TestReviewIsAtomic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		rev := user(t, db, "rex@example.org", cases.RoleReviewer)
		c, _ := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
		before, _ := db.Events(ctx, "case", itoa(c.ID))
		db.OnApprove(func(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case) error {
			return errors.New("collection window could not open")
		})
		if _, err := db.Review(ctx, rev, c.Number, cases.StatusApproved, ""); err == nil {
			t.Fatal("approval succeeded although its hook failed")
		}
		got, _ := db.Case(ctx, c.Number)
		after, _ := db.Events(ctx, "case", itoa(c.ID))
		if got.Status != cases.StatusReceived || len(after) != len(before) {
			t.Fatalf("partial write: status %s, %d→%d events", got.Status, len(before), len(after))
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAuditChainDetectsTampering(t *testing.T) {
	tamper := map[string]map[store.Dialect][]string{
		"edit": {
			store.SQLite:   {"DROP TRIGGER audit_events_no_update", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"},
			store.Postgres: {"DROP TRIGGER audit_events_no_change ON audit_events", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"},
		},
		"edit payload": {
			store.SQLite:   {"DROP TRIGGER audit_events_no_update", "UPDATE audit_events SET after_json = '{}' WHERE seq = 2"},
			store.Postgres: {"DROP TRIGGER audit_events_no_change ON audit_events", "UPDATE audit_events SET after_json = '{}' WHERE seq = 2"},
		},
		"delete middle": {
			store.SQLite:   {"DROP TRIGGER audit_events_no_delete", "DELETE FROM audit_events WHERE seq = 3"},
			store.Postgres: {"DROP TRIGGER audit_events_no_change ON audit_events", "DELETE FROM audit_events WHERE seq = 3"},
		},
		"delete newest": {
			store.SQLite:   {"DROP TRIGGER audit_events_no_delete", "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)"},
			store.Postgres: {"DROP TRIGGER audit_events_no_change ON audit_events", "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)"},
		},
	}
	for name, stmts := range tamper {
		t.Run(name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				intake := user(t, db, "ivy@example.org", cases.RoleIntake)
				for i := 0; i < 2; i++ {
					if _, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)}); err != nil {
						t.Fatal(err)
					}
				}
				n, err := db.VerifyAudit(ctx)
				if err != nil || n < 5 {
					t.Fatalf("intact log: %d events, %v", n, err)
				}
				// The application cannot change the log even by mistake.
				if _, err := db.Writer().Exec("UPDATE audit_events SET actor = 'x' WHERE seq = 1"); err == nil {
					t.Fatal("append-only trigger missing")
				}
				for _, s := range stmts[db.Dialect] {
					if _, err := db.Writer().Exec(s); err != nil {
						t.Fatalf("%s: %v", s, err)
					}
				}
				if _, err := db.VerifyAudit(ctx); err == nil || !strings.Contains(err.Error(), "audit event") && !strings.Contains(err.Error(), "audit log") {
					t.Fatalf("tampering (%s) not detected: %v", name, err)
				}
			})
		})
	}
}

func TestUsersAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, _, err := db.CreateUser(ctx, "test", "not-an-email", "wizard"); cases.ErrorFields(err)["email"] == "" || cases.ErrorFields(err)["role"] == "" {
			t.Fatalf("bad user accepted or fields not named: %v", err)
		}
		u := user(t, db, "Rex@Example.org", cases.RoleReviewer)
		if u.Email != "rex@example.org" || !u.MustChangePassword {
			t.Fatalf("user: %+v", u)
		}
		if _, _, err := db.CreateUser(ctx, "test", "rex@example.org", cases.RoleAdmin); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Fatalf("duplicate user: %v", err)
		}
		tok, err := db.CreateToken(ctx, "test", "rex@example.org")
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.UserByToken(ctx, tok)
		if err != nil || got.Email != u.Email || got.Role != cases.RoleReviewer {
			t.Fatalf("token lookup: %+v %v", got, err)
		}
		if _, err := db.UserByToken(ctx, tok+"x"); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Fatalf("wrong token: %v", err)
		}
		var stored int
		db.Reader().Get(&stored, db.Reader().Rebind("SELECT COUNT(*) FROM api_tokens WHERE token_hash = ?"), tok)
		if stored != 0 {
			t.Fatal("token stored in clear")
		}
		if n, err := db.RevokeTokens(ctx, "test", u.Email); err != nil || n != 1 {
			t.Fatalf("revoke: %d %v", n, err)
		}
		if _, err := db.UserByToken(ctx, tok); cases.ErrorCode(err) != cases.EUNAUTHORIZED {
			t.Fatalf("revoked token still works: %v", err)
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDocumentsAndNotes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		auditor := user(t, db, "al@example.org", cases.RoleAuditor)
		c, _ := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
		if _, err := db.AttachDocument(ctx, intake, c.Number, "order.pdf", []byte("GIF89a not a pdf")); cases.ErrorFields(err)["document"] == "" {
			t.Fatalf("non-PDF accepted: %v", err)
		}
		big := append([]byte("%PDF-1.4\n"), make([]byte, cases.MaxDocumentSize)...)
		if _, err := db.AttachDocument(ctx, intake, c.Number, "order.pdf", big); cases.ErrorCode(err) != cases.ETOOLARGE {
			t.Fatalf("oversized upload: %v", err)
		}
		if _, err := db.AttachDocument(ctx, auditor, c.Number, "order.pdf", []byte("%PDF-1.4\n")); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Fatalf("auditor upload: %v", err)
		}
		pdf := []byte("%PDF-1.4\n% test order\n%%EOF\n")
		doc, err := db.AttachDocument(ctx, intake, c.Number, "../../etc/order.pdf", pdf)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Filename != "order.pdf" || len(doc.SHA256) != 64 {
			t.Fatalf("document: %+v", doc)
		}
		got, content, err := db.Document(ctx, c.Number)
		if err != nil || string(content) != string(pdf) || got.SHA256 != doc.SHA256 {
			t.Fatalf("document read back: %+v %v", got, err)
		}
		if err := db.AddNote(ctx, intake, c.Number, "Called the requester to confirm."); err != nil {
			t.Fatal(err)
		}
		if err := db.AddNote(ctx, intake, c.Number, "  "); cases.ErrorCode(err) != cases.EINVALID {
			t.Fatalf("empty note: %v", err)
		}
		full, _ := db.Case(ctx, c.Number)
		if full.Document == nil || len(full.Notes) != 1 || full.Notes[0].Author != intake.Email {
			t.Fatalf("case: doc %+v notes %+v", full.Document, full.Notes)
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCaseNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, ref := range []string{"42", "LR-2026-000042", "nonsense"} {
			if _, err := db.Case(ctx, ref); cases.ErrorCode(err) != cases.ENOTFOUND {
				t.Errorf("%s: %v", ref, err)
			}
		}
	})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// Commits counts committed write transactions only: a rolled-back one
// changed nothing a reader could have kept.
func TestCommits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		before := db.Commits()
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *sqlx.Tx) error { return errors.New("roll back") }); err == nil {
			t.Fatal("a failing transaction succeeded")
		}
		if got := db.Commits() - before; got != 1 {
			t.Errorf("commits counted: %d, want 1", got)
		}
	})
}
