package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter"
)

// Crash safety (issue 8): writers log cases, approve them, post collection
// events and export packages against a real `envelope serve`, which is
// killed with SIGKILL while their requests are in flight and restarted on
// the same database, several times over. After each restart every write
// the server acknowledged must be there exactly, the audit chain must
// verify, and every listed package must be whole.

const (
	crashRounds = 3
	// crashAcks is how many acknowledged writes a round lets through
	// before the kill; the kill waits for an export to be under way, up
	// to twice as many.
	crashAcks = 150
)

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server: not in -short")
	}
	eachDSN(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		led := &crashLedger{
			intake:   addUser(t, dsn, "ivy@example.org", "intake"),
			reviewer: addUser(t, dsn, "rex@example.org", "reviewer"),
			tap:      addUser(t, dsn, "tap@example.org", "collector"),
			cases:    map[int64]*ackedCase{},
			approved: map[int64]string{},
			packages: map[string]ackedPackage{},
			exported: map[int64]bool{},
			toReview: make(chan *ackedCase, 100_000),
		}
		listAgency(t, dsn, "Federal Bureau of Investigation")
		var listed int
		for round := 0; round <= crashRounds && !t.Failed(); round++ {
			p := startServe(t, dsn, dir)
			if round > 0 {
				listed = led.check(t, p, dsn, dir)
			}
			if round < crashRounds {
				led.crash(t, p)
			} else {
				p.stop()
			}
		}
		if led.unanswered == 0 {
			t.Error("no request was in flight at any kill: the test tested nothing")
		}
		// What the kills left unlisted: the temporary files of exports
		// killed while building, and packages stored but killed before
		// their recording.
		temps, _ := filepath.Glob(filepath.Join(packagesDir(dir), ".building-*"))
		t.Logf("%d kills: %d cases, %d approvals, %d collected events, %d packages acknowledged; %d requests unanswered at the kills; left unlisted: %d temporary files, %d stored packages",
			crashRounds, len(led.cases), len(led.approved), len(led.events), len(led.packages), led.unanswered, len(temps), storedBlobs(t, dsn, "LR-%")-listed)
	})
}

// crashLedger records every write the server acknowledged.
type crashLedger struct {
	intake, reviewer, tap string // API tokens

	mu         sync.Mutex
	cases      map[int64]*ackedCase
	approved   map[int64]string // case → reviewer's email
	prospects  []*ackedCase     // approved pen registers: collected for and exported
	events     []ackedEvent
	packages   map[string]ackedPackage // by file name
	exported   map[int64]bool          // cases an export was sent for, answered or not
	unanswered int

	toReview chan *ackedCase
}

type ackedCase struct {
	id        int64
	number    string
	reference string
	target    string
	pen       bool
	decision  json.RawMessage
}

type ackedEvent struct {
	caseID int64
	to     string
}

type ackedPackage struct {
	caseID int64
	sha256 string
}

// crash runs the writers against p, kills p once enough writes were
// acknowledged (while an export is being built, if one comes along), and
// returns when every writer has seen the server go.
func (l *crashLedger) crash(t *testing.T, p *serveProc) {
	hc := newHTTPClient(16)
	client := func(token string) *apiClient { return &apiClient{hc: hc, base: p.base, token: token} }
	var acks atomic.Int64
	var exporting atomic.Bool
	var killed atomic.Bool
	// unanswered records a request that got no answer. Before the kill
	// that is a failure; after it, the request was in flight.
	unanswered := func(what string, err error) {
		t.Helper()
		if !killed.Load() {
			t.Errorf("%s: no answer before the kill: %v", what, err)
		}
		l.mu.Lock()
		l.unanswered++
		l.mu.Unlock()
	}
	refused := func(what string, r reply) {
		t.Helper()
		t.Errorf("%s: %s", what, r)
	}

	var wg sync.WaitGroup
	for w := range 3 { // loggers: two pen registers for each subpoena
		c := client(l.intake)
		wg.Go(func() {
			for i := 0; !killed.Load(); i++ {
				kind := "pen_register"
				if (i+w)%3 == 2 {
					kind = "subpoena"
				}
				req, target := requestFor(kind, "Federal Bureau of Investigation", time.Now())
				r, err := c.post("/cases", req)
				if err != nil {
					unanswered("create", err)
					return
				}
				var kase struct {
					cases.Case
					Decision json.RawMessage `json:"decision"`
				}
				if !r.acked() || r.decode(&kase) != nil {
					refused("create", r)
					return
				}
				ac := &ackedCase{id: kase.ID, number: kase.Number, reference: kase.Process.Reference, target: target,
					pen: kind == "pen_register", decision: kase.Decision}
				l.mu.Lock()
				l.cases[ac.id] = ac
				l.mu.Unlock()
				l.toReview <- ac
				acks.Add(1)
			}
		})
	}
	for range 2 { // reviewers
		c := client(l.reviewer)
		wg.Go(func() {
			workOn(killed.Load, receive(l.toReview), func(ac *ackedCase) bool {
				r, err := c.post("/cases/"+strconv.FormatInt(ac.id, 10)+"/approve", map[string]string{"note": "confirmed by phone"})
				if err != nil {
					unanswered("approve", err)
					return false
				}
				if !r.acked() {
					refused("approve "+ac.number, r)
					return false
				}
				l.mu.Lock()
				l.approved[ac.id] = "rex@example.org"
				if ac.pen {
					l.prospects = append(l.prospects, ac)
				}
				l.mu.Unlock()
				acks.Add(1)
				return true
			})
		})
	}
	pick := func() (*ackedCase, bool) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.prospects) == 0 {
			return nil, false
		}
		return l.prospects[rand.IntN(len(l.prospects))], true
	}
	{ // the messaging service's tap
		c := client(l.tap)
		wg.Go(func() {
			workOn(killed.Load, pick, func(ac *ackedCase) bool {
				body, tos := eventsFor(ac.target, 10, time.Now())
				r, err := c.do("POST", "/collect/events", body, "application/x-ndjson")
				if err != nil {
					unanswered("collect", err)
					return false
				}
				var ans struct{ Received, Kept int64 }
				if !r.acked() || r.decode(&ans) != nil || ans.Kept != int64(len(tos)) {
					refused("collect for "+ac.number, r)
					return false
				}
				l.mu.Lock()
				for _, to := range tos {
					l.events = append(l.events, ackedEvent{ac.id, to})
				}
				l.mu.Unlock()
				acks.Add(1)
				return true
			})
		})
	}
	{ // an exporter
		c := client(l.intake)
		wg.Go(func() {
			workOn(killed.Load, pick, func(ac *ackedCase) bool {
				l.mu.Lock()
				l.exported[ac.id] = true
				l.mu.Unlock()
				exporting.Store(true)
				r, err := c.post("/cases/"+strconv.FormatInt(ac.id, 10)+"/export", nil)
				exporting.Store(false)
				if err != nil {
					unanswered("export", err)
					return false
				}
				var pkg struct{ Package, SHA256 string }
				if !r.acked() || r.decode(&pkg) != nil {
					refused("export "+ac.number, r)
					return false
				}
				l.mu.Lock()
				l.packages[pkg.Package] = ackedPackage{ac.id, pkg.SHA256}
				l.mu.Unlock()
				acks.Add(1)
				return true
			})
		})
	}
	// The kill: after crashAcks acknowledgements, at a moment an export is
	// in flight, or at 2×crashAcks whatever is in flight.
	for {
		n := acks.Load()
		if n >= 2*crashAcks || (n >= crashAcks && exporting.Load()) || t.Failed() {
			break
		}
		time.Sleep(time.Millisecond)
	}
	killed.Store(true)
	p.kill()
	wg.Wait()
}

// check verifies, on the restarted server p, that every acknowledged write
// is stored exactly, that the audit log is intact and covers them, and
// that every listed package is whole. It returns how many are listed.
func (l *crashLedger) check(t *testing.T, p *serveProc, dsn, dir string) int {
	t.Helper()
	if code, out, errOut := cli(t, dsn, "", "audit", "verify"); code != 0 {
		t.Fatalf("audit verify after a kill: %d %s %s", code, out, errOut)
	}
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	actions := caseActions(t, s)
	l.checkCases(t, s, actions)
	l.checkEvents(t, s)
	return l.checkPackages(t, p, dir, actions)
}

// caseActions counts the audit events of each case by action.
func caseActions(t *testing.T, s *store.DB) map[string]map[string]int {
	t.Helper()
	var rows []struct {
		ID     string `db:"entity_id"`
		Action string `db:"action"`
	}
	if err := s.Reader().Select(&rows, "SELECT entity_id, action FROM audit_events WHERE entity = 'case'"); err != nil {
		t.Fatal(err)
	}
	actions := map[string]map[string]int{}
	for _, r := range rows {
		if actions[r.ID] == nil {
			actions[r.ID] = map[string]int{}
		}
		actions[r.ID][r.Action]++
	}
	return actions
}

// checkCases checks each acknowledged case and approval, and that no case
// is stored half-written.
func (l *crashLedger) checkCases(t *testing.T, s *store.DB, actions map[string]map[string]int) {
	t.Helper()
	ctx := context.Background()
	for _, ac := range l.cases {
		c, err := s.Case(ctx, strconv.FormatInt(ac.id, 10))
		if err != nil {
			t.Errorf("acknowledged case %s lost: %v", ac.number, err)
			continue
		}
		got, _ := json.Marshal(c.Decision)
		var want cases.Decision
		json.Unmarshal(ac.decision, &want)
		wantJSON, _ := json.Marshal(&want)
		if c.Number != ac.number || c.Process.Reference != ac.reference || string(got) != string(wantJSON) {
			t.Errorf("case %s stored as %s %s with decision %s; acknowledged %s with %s", ac.number, c.Number, c.Process.Reference, got, ac.reference, wantJSON)
		}
		id := strconv.FormatInt(ac.id, 10)
		if actions[id]["case.create"] != 1 || actions[id]["case.decide"] != 1 {
			t.Errorf("case %s: audit events %v", ac.number, actions[id])
		}
		if who, ok := l.approved[ac.id]; ok {
			if (c.Status != cases.StatusApproved && c.Status != cases.StatusProduced) || c.Review == nil || c.Review.By != who || actions[id]["case.approve"] != 1 {
				t.Errorf("acknowledged approval of %s lost: status %s, review %+v, audit %v", ac.number, c.Status, c.Review, actions[id])
			}
		}
	}
	// Acknowledged or not, every stored case has its decision and its
	// creation event.
	var unaudited int
	if err := s.Reader().GetContext(ctx, &unaudited, `SELECT COUNT(*) FROM cases WHERE decision_json IS NULL
		OR NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.entity = 'case' AND a.action = 'case.create' AND a.entity_id = CAST(cases.id AS TEXT))`); err != nil {
		t.Fatal(err)
	}
	if unaudited != 0 {
		t.Errorf("%d stored cases without their decision or creation event", unaudited)
	}
}

// checkEvents checks that each acknowledged collection event is stored as
// exactly one pair.
func (l *crashLedger) checkEvents(t *testing.T, s *store.DB) {
	t.Helper()
	r := s.Reader()
	for _, ev := range l.events {
		var n int
		if err := r.Get(&n, r.Rebind("SELECT COUNT(*) FROM collected_pairs WHERE case_id = ? AND to_account = ?"), ev.caseID, ev.to); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("acknowledged event to %s for case %d: %d pairs stored", ev.to, ev.caseID, n)
		}
	}
}

// checkPackages lists, through the API, the packages of every case an
// export was sent for: each acknowledged one is listed, and each listed one
// is a whole, signed package with the recorded hash and an audit event.
// It returns how many are listed.
func (l *crashLedger) checkPackages(t *testing.T, p *serveProc, dir string, actions map[string]map[string]int) int {
	t.Helper()
	c := &apiClient{hc: newHTTPClient(1), base: p.base, token: l.intake}
	listed := map[string]string{} // file name → SHA-256
	for id := range l.exported {
		r, err := c.get("/cases/" + strconv.FormatInt(id, 10) + "/exports")
		if err != nil || r.status != 200 {
			t.Fatalf("list packages of %d: %v %v", id, r, err)
		}
		var ans struct {
			Packages []exporter.Package `json:"packages"`
		}
		if err := r.decode(&ans); err != nil {
			t.Fatal(err)
		}
		if n := actions[strconv.FormatInt(id, 10)]["case.export"]; n != len(ans.Packages) {
			t.Errorf("case %d: %d packages listed, %d audited", id, len(ans.Packages), n)
		}
		for _, pkg := range ans.Packages {
			listed[pkg.FileName] = pkg.SHA256
			if strings.HasPrefix(pkg.FileName, ".") {
				t.Errorf("listed package %s", pkg.FileName)
			}
			c.checkPackage(t, id, pkg, filepath.Join(dir, "keys"), true)
		}
	}
	for name, ap := range l.packages {
		if listed[name] != ap.sha256 {
			t.Errorf("acknowledged package %s of case %d (sha256 %s) is listed with %q", name, ap.caseID, ap.sha256, listed[name])
		}
	}
	return len(listed)
}
