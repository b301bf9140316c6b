package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases/store"
	"envelope/exporter"
)

// The soak (issue 8): 50 concurrent clients log cases, read lists, race in
// pairs to approve or reject the same case, post collection events, add
// notes and export packages against a real `envelope serve`, for a while,
// on SQLite and on PostgreSQL. No client may see a 5xx or a database lock
// error; of two reviewers racing on a case exactly one wins and the other
// gets 409; and in the end the database and its audit log hold exactly
// what the clients were told.

// soakEnv sets the soak's duration per engine (a Go duration, e.g. 5m).
// Without it the soak runs a minute in CI and 10 seconds elsewhere.
const soakEnv = "ENVELOPE_SOAK"

func soakDuration(t *testing.T) time.Duration {
	if os.Getenv("CI") != "" {
		return envDuration(t, soakEnv, time.Minute)
	}
	return envDuration(t, soakEnv, 10*time.Second)
}

// envDuration reads a test's duration from the environment variable
// name, def if it is not set.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration such as 60s", name, v)
	}
	return d
}

// The soak's 50 clients.
const (
	soakLoggers    = 16
	soakPairs      = 10 // two clients each
	soakReaders    = 6
	soakCollectors = 4
	soakExporters  = 2
	soakNoters     = 2
)

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 50 clients for a while: not in -short")
	}
	d := soakDuration(t)
	eachDSN(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		s := newSoak(t, dsn)
		before := auditActions(t, dsn)
		// The soak measures what one instance serves to clients that share
		// a few tokens: the API's rate limit per client is not what it tests.
		p := startServe(t, dsn, dir, "--api-rate", "0")
		s.bases = []string{p.base}
		start := time.Now()
		s.run(d)
		elapsed := time.Since(start)
		p.stop()
		s.report(elapsed)
		if t.Failed() {
			return
		}
		s.checkCounts(dsn, before)
		if code, out, errOut := cli(t, dsn, "", "audit", "verify"); code != 0 {
			t.Fatalf("audit verify after the soak: %d %s %s", code, out, errOut)
		}
	})
}

// newSoak sets up dsn for a soak: its users (with tokens) and agencies.
func newSoak(t *testing.T, dsn string, users ...[2]string) *soak {
	s := &soak{t: t, tokens: map[string]string{}, fresh: make(chan soakCase, 1000), exportedCases: map[int64]bool{},
		holds: map[string]int{}, ops: map[string][]time.Duration{}}
	for _, u := range append([][2]string{{"ivy@example.org", "intake"}, {"ian@example.org", "intake"},
		{"rex@example.org", "reviewer"}, {"rae@example.org", "reviewer"}, {"aud@example.org", "auditor"}, {"tap@example.org", "collector"}}, users...) {
		s.tokens[u[0]] = addUser(t, dsn, u[0], u[1])
	}
	for i := range soakAgencies {
		listAgency(t, dsn, fmt.Sprintf("Agency %d", i))
	}
	return s
}

// soak is one soak run: its clients and what they were told.
type soak struct {
	t *testing.T
	// bases are the instances' URLs; each client talks to one, in turn.
	bases  []string
	next   atomic.Uint32
	tokens map[string]string // by email
	// mixed adds legal holds and failed sign-ins to the burst, and has the
	// exporters produce each case once, the instances' schedulers the
	// rest (the many-instance burst, burst_test.go).
	mixed bool
	stop  atomic.Bool
	fresh chan soakCase // logged cases, for the racing reviewers

	mu            sync.Mutex
	created       []soakCase
	prospects     []soakCase // approved pen registers
	approvals     int
	rejections    int
	kept          int64
	notes         int
	exports       int
	exportedCases map[int64]bool
	holds         map[string]int             // acknowledged hold.place and hold.release
	signIns       int                        // failed sign-ins answered
	ops           map[string][]time.Duration // latencies by operation
	failures      []string
	failed        int
}

type soakCase struct {
	id     int64
	target string
	pen    bool
}

// call sends one request as user, times it under op, and reports whether
// it answered one of the want statuses. Anything else, a 5xx, or an answer
// that names a locked or busy database or a deadlock, is a failure.
func (s *soak) call(hc *apiClient, op, method, path string, body []byte, contentType string, want ...int) (reply, bool) {
	t0 := time.Now()
	r, err := hc.do(method, path, body, contentType)
	d := time.Since(t0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[op] = append(s.ops[op], d)
	lower := strings.ToLower(string(r.body))
	switch {
	case err != nil:
		s.fail(fmt.Sprintf("%s %s: no answer: %v", method, path, err))
	case strings.Contains(lower, "locked") || strings.Contains(lower, "busy") || strings.Contains(lower, "deadlock"):
		s.fail(fmt.Sprintf("%s %s: %s", method, path, r))
	case !slices.Contains(want, r.status):
		s.fail(fmt.Sprintf("%s %s: want %v, got %s", method, path, want, r))
	default:
		return r, true
	}
	return r, false
}

// fail records a failure; s.mu is held. The first few are kept in full.
func (s *soak) fail(msg string) {
	s.failed++
	if len(s.failures) < 10 {
		s.failures = append(s.failures, msg)
	}
}

func (s *soak) client(hc *http.Client, email string) *apiClient {
	base := s.bases[int(s.next.Add(1))%len(s.bases)]
	return &apiClient{hc: hc, base: base, token: s.tokens[email]}
}

// run starts the 50 clients, lets them work for d, and waits until each
// has finished the request it was sending.
func (s *soak) run(d time.Duration) {
	hc := newHTTPClient(50)
	var wg sync.WaitGroup
	for i := range soakLoggers {
		c := s.client(hc, []string{"ivy@example.org", "ian@example.org"}[i%2])
		wg.Go(func() { s.logger(c, i) })
	}
	for range soakPairs {
		a, b := s.client(hc, "rex@example.org"), s.client(hc, "rae@example.org")
		wg.Go(func() { s.racers(a, b) })
	}
	for range soakReaders {
		c := s.client(hc, "aud@example.org")
		wg.Go(func() { s.reader(c) })
	}
	for range soakCollectors {
		c := s.client(hc, "tap@example.org")
		wg.Go(func() { s.collector(c) })
	}
	for i := range soakExporters {
		c := s.client(hc, "ivy@example.org")
		wg.Go(func() { s.exporter(c, i) })
	}
	for range soakNoters {
		c := s.client(hc, "ian@example.org")
		wg.Go(func() { s.noter(c) })
	}
	if s.mixed {
		for range burstHolders {
			c := s.client(hc, "sue@example.org")
			wg.Go(func() { s.holder(c) })
		}
		for range burstGuessers {
			c := s.client(hc, "")
			wg.Go(func() { s.guesser(c) })
		}
	}
	time.Sleep(d)
	s.stop.Store(true)
	wg.Wait()
}

// soakAgencies is how many agencies of the directory the cases come from.
const soakAgencies = 12

// logger logs cases: two pen registers for each subpoena, from a dozen
// agencies of the directory, which logging a case never changes.
func (s *soak) logger(c *apiClient, n int) {
	for i := 0; !s.stop.Load(); i++ {
		kind := "pen_register"
		if (i+n)%3 == 2 {
			kind = "subpoena"
		}
		agency := fmt.Sprintf("Agency %d", (i+n)%soakAgencies)
		req, target := requestFor(kind, agency, time.Now())
		b, _ := json.Marshal(req)
		r, ok := s.call(c, "create", "POST", "/cases", b, "", http.StatusCreated)
		var kase struct{ ID int64 }
		if !ok || r.decode(&kase) != nil {
			continue
		}
		sc := soakCase{kase.ID, target, kind == "pen_register"}
		s.mu.Lock()
		s.created = append(s.created, sc)
		s.mu.Unlock()
		select {
		case s.fresh <- sc:
		default: // the reviewers are behind: this one stays received
		}
	}
}

// racers are two reviewers sending their verdicts on the same case at the
// same moment: both approve, or (one case in three) one approves while the
// other rejects. Exactly one must win; the other must get 409.
func (s *soak) racers(a, b *apiClient) {
	i := 0
	workOn(s.stop.Load, receive(s.fresh), func(sc soakCase) bool {
		i++
		verdicts := [2]string{"approve", "approve"}
		if i%3 == 0 {
			verdicts[1] = "reject"
		}
		path := "/cases/" + strconv.FormatInt(sc.id, 10) + "/"
		var got [2]int
		start := make(chan struct{})
		var wg sync.WaitGroup
		for k, c := range []*apiClient{a, b} {
			wg.Go(func() {
				<-start
				body := `{"note":"checked with the issuing court"}`
				if verdicts[k] == "reject" {
					body = `{"reason":"the order does not name the account"}`
				}
				r, _ := s.call(c, verdicts[k], "POST", path+verdicts[k], []byte(body), "", http.StatusOK, http.StatusConflict)
				got[k] = r.status
			})
		}
		close(start)
		wg.Wait()
		winner := slices.Index(got[:], http.StatusOK)
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case winner < 0 || got[1-winner] != http.StatusConflict:
			s.fail(fmt.Sprintf("case %d: two reviewers racing got %v: want one 200 and one 409", sc.id, got))
		case verdicts[winner] == "approve":
			s.approvals++
			if sc.pen {
				s.prospects = append(s.prospects, sc)
			}
		default:
			s.rejections++
		}
		return true
	})
}

// reader reads what auditors read: filtered lists, free-text search, a
// case, its decision and its timeline.
func (s *soak) reader(c *apiClient) {
	created := s.picker(func() []soakCase { return s.created })
	for i := 0; !s.stop.Load(); i++ {
		sc, ok := created()
		id := strconv.FormatInt(sc.id, 10)
		paths := []string{"/cases?status=received", "/cases?country=US&process=pen_register", "/cases?status=approved&limit=20"}
		if ok {
			paths = append(paths, "/cases?q="+url.QueryEscape(sc.target), "/cases/"+id, "/cases/"+id+"/decision", "/cases/"+id+"/events")
		}
		path := paths[i%len(paths)]
		op, _, _ := strings.Cut(strings.TrimPrefix(path, "/cases"), "?")
		op = "read " + strings.NewReplacer(id, "{id}").Replace("/cases"+op)
		s.call(c, op, "GET", path, nil, "", http.StatusOK)
	}
}

// picker returns a pick of a random element of the list from returns
// (read under s.mu).
func (s *soak) picker(from func() []soakCase) func() (soakCase, bool) {
	return func() (soakCase, bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		l := from()
		if len(l) == 0 {
			return soakCase{}, false
		}
		return l[rand.IntN(len(l))], true
	}
}

// collector posts batches of 20 message events of approved pen registers'
// targets: every one of them must be kept.
func (s *soak) collector(c *apiClient) {
	workOn(s.stop.Load, s.picker(func() []soakCase { return s.prospects }), func(sc soakCase) bool {
		body, tos := eventsFor(sc.target, 20, time.Now())
		r, ok := s.call(c, "collect", "POST", "/collect/events", body, "application/x-ndjson", http.StatusOK)
		var ans struct{ Kept int64 }
		if !ok || r.decode(&ans) != nil {
			return true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if ans.Kept != int64(len(tos)) {
			s.fail(fmt.Sprintf("case %d: %d of %d events kept", sc.id, ans.Kept, len(tos)))
		}
		s.kept += ans.Kept
		return true
	})
}

// exporter n produces packages of approved pen registers whose ID is n
// modulo the exporters, so that no two exporters race on one case.
func (s *soak) exporter(c *apiClient, n int) {
	mine := s.picker(func() []soakCase {
		var out []soakCase
		for _, sc := range s.prospects {
			if sc.id%soakExporters == int64(n) {
				out = append(out, sc)
			}
		}
		return out
	})
	workOn(s.stop.Load, mine, func(sc soakCase) bool {
		s.mu.Lock()
		again := s.exportedCases[sc.id]
		s.mu.Unlock()
		if again && s.mixed {
			return true // the schedulers produce it again (a person racing them would lose: 409)
		}
		if _, ok := s.call(c, "export", "POST", "/cases/"+strconv.FormatInt(sc.id, 10)+"/export", nil, "", http.StatusCreated); ok {
			s.mu.Lock()
			s.exports++
			s.exportedCases[sc.id] = true
			s.mu.Unlock()
		}
		return true
	})
}

// noter adds notes to logged cases.
func (s *soak) noter(c *apiClient) {
	workOn(s.stop.Load, s.picker(func() []soakCase { return s.created }), func(sc soakCase) bool {
		path := "/cases/" + strconv.FormatInt(sc.id, 10) + "/notes"
		if _, ok := s.call(c, "note", "POST", path, []byte(`{"body":"called the requester back"}`), "", http.StatusCreated); ok {
			s.mu.Lock()
			s.notes++
			s.mu.Unlock()
		}
		return true
	})
}

// report logs throughput and latency per operation, and fails the test
// with the first failures if there were any.
func (s *soak) report(elapsed time.Duration) {
	t := s.t
	names := make([]string, 0, len(s.ops))
	total := 0
	for op, ds := range s.ops {
		names = append(names, op)
		total += len(ds)
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%d clients, %s: %d requests, %.0f/s; %d cases logged, %d races (%d approved, %d rejected), %d events kept, %d notes, %d packages\n",
		soakLoggers+2*soakPairs+soakReaders+soakCollectors+soakExporters+soakNoters, elapsed.Round(time.Millisecond), total,
		float64(total)/elapsed.Seconds(), len(s.created), s.approvals+s.rejections, s.approvals, s.rejections, s.kept, s.notes, s.exports)
	fmt.Fprintf(&b, "%-26s %8s %8s %9s %9s %9s\n", "operation", "count", "per s", "p50", "p99", "max")
	for _, op := range names {
		ds := s.ops[op]
		slices.Sort(ds)
		pct := func(p float64) time.Duration { return ds[min(int(p*float64(len(ds))), len(ds)-1)] }
		ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
		fmt.Fprintf(&b, "%-26s %8d %8.1f %9s %9s %9s\n", op, len(ds), float64(len(ds))/elapsed.Seconds(), ms(pct(0.5)), ms(pct(0.99)), ms(ds[len(ds)-1]))
	}
	t.Log("\n" + b.String())
	if s.failed > 0 {
		t.Errorf("%d failed requests or checks; the first:\n%s", s.failed, strings.Join(s.failures, "\n"))
	}
}

// checkCounts checks that the database holds exactly what the clients
// were told: every case, verdict, note, package and kept event, once, and
// the audit events of each, beyond those the test's setup wrote.
func (s *soak) checkCounts(dsn string, before map[string]int) {
	t := s.t
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(query string) int {
		var n int
		if err := db.Reader().GetContext(ctx, &n, query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	created, decided := len(s.created), s.approvals+s.rejections
	scheduled := count("SELECT COUNT(*) FROM packages WHERE created_by = '" + exporter.SchedulerActor + "'")
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"cases", count("SELECT COUNT(*) FROM cases"), created},
		{"received cases", count("SELECT COUNT(*) FROM cases WHERE status = 'received'"), created - decided},
		{"approved or produced cases", count("SELECT COUNT(*) FROM cases WHERE status IN ('approved', 'produced')"), s.approvals},
		{"produced cases", count("SELECT COUNT(*) FROM cases WHERE status = 'produced'"), len(s.exportedCases)},
		{"rejected cases", count("SELECT COUNT(*) FROM cases WHERE status = 'rejected'"), s.rejections},
		{"agencies", count("SELECT COUNT(*) FROM agencies"), soakAgencies},
		{"notes", count("SELECT COUNT(*) FROM case_notes"), s.notes},
		{"packages", count("SELECT COUNT(*) FROM packages"), s.exports + scheduled},
		{"stored packages", count("SELECT COUNT(*) FROM blobs WHERE name LIKE 'LR-%'"), s.exports + scheduled},
		{"collected pairs", count("SELECT COUNT(*) FROM collected_pairs"), int(s.kept)},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d in the database, %d acknowledged", c.what, c.got, c.want)
		}
	}
	approvedProspects := len(s.prospects)
	want := map[string]int{
		"case.create": created, "case.decide": created,
		"case.approve": s.approvals, "case.reject": s.rejections, "collection.open": approvedProspects,
		"case.note": s.notes, "case.export": s.exports + scheduled, "case.status": len(s.exportedCases),
		"hold.place": s.holds["place"], "hold.release": s.holds["release"],
		// The first start records the deployment's signing and audit keys.
		"settings.key": 2,
	}
	after := auditActions(t, dsn)
	// Each package records the case's result when it changes it: a pen
	// register's first package may find no data yet and a later one some,
	// so a case has one or two.
	if got := after["case.result"] - before["case.result"]; got < len(s.exportedCases) || got > s.exports+scheduled {
		t.Errorf("audit: %d case.result events, want %d to %d", got, len(s.exportedCases), s.exports+scheduled)
	}
	want["case.result"] = after["case.result"] - before["case.result"]
	// A failed sign-in is audited as a failure or, past the lockout's
	// limit, as the lock; one throttled (429) is not audited at all.
	if got := after["login.fail"] + after["login.locked"] - before["login.fail"] - before["login.locked"]; got > s.signIns || (s.signIns > 0 && got == 0) {
		t.Errorf("audit: %d failed sign-ins, %d answered", got, s.signIns)
	}
	want["login.fail"], want["login.locked"] = after["login.fail"]-before["login.fail"], after["login.locked"]-before["login.locked"]
	for action := range after {
		if _, ok := want[action]; !ok {
			want[action] = 0
		}
	}
	for action, n := range want {
		if got := after[action] - before[action]; got != n {
			t.Errorf("audit: %d %s events, want %d", got, action, n)
		}
	}
}

// auditActions counts the audit log's events by action.
func auditActions(t *testing.T, dsn string) map[string]int {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []struct {
		Action string `db:"action"`
		N      int    `db:"n"`
	}
	if err := db.Reader().Select(&rows, "SELECT action, COUNT(*) AS n FROM audit_events GROUP BY action"); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Action] = r.N
	}
	return out
}
