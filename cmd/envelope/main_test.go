package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// cli runs one command in-process and returns its exit status and output.
func cli(t *testing.T, dbPath, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "ENVELOPE_DB" {
			return dbPath
		}
		return ""
	}}
	code := run(context.Background(), args, a)
	return code, out.String(), errb.String()
}

// served is `envelope serve` running in-process for a test.
type served struct {
	addr   string       // http://host:port
	stdout string       // what it printed up to "serving on"
	stderr bytes.Buffer // read it only after stop
	cancel context.CancelFunc
	done   chan int
}

// serveInProcess runs `envelope serve args...` on a free port, keys and packages
// in temporary folders, and returns once it serves.
func serveInProcess(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{cancel: cancel, done: make(chan int, 1)}
	pr, pw := io.Pipe()
	go func() {
		a := &app{stdin: strings.NewReader(""), stdout: pw, stderr: &s.stderr, getenv: func(string) string { return "" }}
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0",
			"--keys", filepath.Join(t.TempDir(), "k"), "--packages", filepath.Join(t.TempDir(), "p")}, args...), a)
		pw.Close()
	}()
	var out strings.Builder
	for sc := bufio.NewScanner(pr); sc.Scan(); {
		out.WriteString(sc.Text() + "\n")
		if _, rest, ok := strings.Cut(sc.Text(), "serving on "); ok {
			s.addr = strings.Fields(rest)[0]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	s.stdout = out.String()
	if s.addr == "" {
		s.stop(t)
		t.Fatalf("serve did not start: %s", s.stderr.String())
	}
	return s
}

// stop ends the server as a signal would and returns its exit status.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		return code
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not shut down")
		return -1
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := cli(t, "", "", "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	if code, out, _ := cli(t, "", "", "--help"); code != 0 || !strings.Contains(out, "policy check") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, _, errOut := cli(t, "", "", "user", "add", "--role", "intake"); code != 2 || !strings.Contains(errOut, "--email is required") {
		t.Errorf("missing flag: %d %q", code, errOut)
	}
	if code, _, _ := cli(t, "", "", "user", "add", "--bogus"); code != 2 {
		t.Errorf("unknown flag: %d", code)
	}
	if code, _, errOut := cli(t, "", "", "policy", "check", "--help"); code != 0 || !strings.Contains(errOut, "--at") {
		t.Errorf("command help: %d %q", code, errOut)
	}
}

func TestUserAndToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	code, out, _ := cli(t, db, "", "user", "add", "--email", "ivy@example.org", "--role", "intake")
	if code != 0 || len(strings.Fields(out)) != 1 || len(strings.TrimSpace(out)) < 12 {
		t.Fatalf("user add must print only the password: %d %q", code, out)
	}
	code, _, errOut := cli(t, db, "", "user", "add", "--email", "rex@example.org", "--role", "wizard")
	if code != 1 || !strings.Contains(errOut, "role") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("bad role: %d %q", code, errOut)
	}
	code, out, _ = cli(t, db, "", "token", "create", "--email", "ivy@example.org")
	if code != 0 || !strings.HasPrefix(out, "env_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("token create: %d %q", code, out)
	}
	s, _ := store.Open(context.Background(), db)
	defer s.Close()
	if u, err := s.UserByToken(context.Background(), strings.TrimSpace(out)); err != nil || u.Email != "ivy@example.org" {
		t.Fatalf("printed token does not work: %v", err)
	}
	if code, _, _ := cli(t, db, "", "token", "create", "--email", "nobody@example.org"); code != 1 {
		t.Fatalf("token for unknown user: %d", code)
	}
}

func TestPolicyCheck(t *testing.T) {
	req, _ := os.ReadFile("../../testdata/requests/pen_register.json")
	code, out, errOut := cli(t, "", string(req), "policy", "check", "--at", "2026-11-20T09:31:00Z")
	if code != 0 {
		t.Fatalf("policy check: %d %s", code, errOut)
	}
	var dec cases.Decision
	if err := json.Unmarshal([]byte(out), &dec); err != nil {
		t.Fatal(err)
	}
	if dec.Outcome != cases.OutcomePartial || dec.DecidedAt.Format(time.RFC3339) != "2026-11-20T09:31:00Z" {
		t.Fatalf("decision: %+v", dec)
	}
	bad := strings.Replace(string(req), `"country": "US", `, "", 1)
	code, out, errOut = cli(t, "", bad, "policy", "check")
	if code != 1 || out != "" || !strings.Contains(errOut, "agency.country") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("malformed request: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := cli(t, "", string(req), "policy", "check", "--at", "tomorrow"); code != 1 || !strings.Contains(errOut, "at") {
		t.Fatalf("bad --at: %d %q", code, errOut)
	}
}

func TestCasesImport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	code, _, errOut := cli(t, db, "", "cases", "import", "../../testdata/import/legacy_bad.ndjson")
	if code != 1 || !strings.Contains(errOut, "legacy_bad.ndjson:2: ") || !strings.Contains(errOut, "agency.country") ||
		!strings.Contains(errOut, ":4: ") || !strings.Contains(errOut, "status") {
		t.Fatalf("bad import: %d %q", code, errOut)
	}
	s, _ := store.Open(context.Background(), db)
	if n, _ := s.CountCases(context.Background()); n != 0 {
		t.Fatalf("a bad file imported %d cases", n)
	}
	s.Close()
	code, out, errOut := cli(t, db, "", "cases", "import", "../../testdata/import/legacy.ndjson")
	if code != 0 || !strings.Contains(out, "imported 4 case(s)") {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	s, _ = store.Open(context.Background(), db)
	defer s.Close()
	p, _ := s.ListCases(context.Background(), cases.CaseFilter{Limit: 10})
	got := map[cases.Status]int{}
	produced := 0
	for _, c := range p.Cases {
		got[c.Status]++
		if c.Produced {
			produced++
		}
		if c.Decision == nil {
			t.Errorf("%s imported without a decision", c.Number)
		}
	}
	if got[cases.StatusClosed] != 2 || got[cases.StatusRejected] != 1 || got[cases.StatusProduced] != 1 || produced != 2 {
		t.Fatalf("imported states: %v, produced %d", got, produced)
	}
}

func TestAuditVerifyCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	cli(t, db, "", "user", "add", "--email", "ivy@example.org", "--role", "intake")
	cli(t, db, "", "cases", "import", "../../testdata/import/legacy.ndjson")
	if code, out, _ := cli(t, db, "", "audit", "verify"); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("intact: %d %q", code, out)
	}
	s, _ := store.Open(context.Background(), db)
	s.Writer().Exec("DROP TRIGGER audit_events_no_update")
	s.Writer().Exec("UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
	s.Close()
	if code, _, errOut := cli(t, db, "", "audit", "verify"); code != 1 || !strings.Contains(errOut, "audit event 4") {
		t.Fatalf("tampered: %d %q", code, errOut)
	}
}

// serve --demo loads a demo set covering every status and process type,
// serves the API, and stops cleanly on a signal (a cancelled context).
func TestServeDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	srv := serveInProcess(t, "--demo", "--db", db)
	if !strings.Contains(srv.stdout, "demo: loaded") || !strings.Contains(srv.stdout, "password") {
		srv.stop(t)
		t.Fatalf("no demo login printed: %s", srv.stdout)
	}
	resp, err := http.Get(srv.addr + "/api/v1/cases")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API without token: %v %v", resp, err)
	}
	resp.Body.Close()
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, srv.stderr.String())
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	statuses, procs := map[cases.Status]bool{}, map[cases.ProcessType]bool{}
	countries := map[string]bool{}
	err = s.EachCase(context.Background(), nil, nil, func(c *cases.Case) error {
		statuses[c.Status], procs[c.Process.Type], countries[c.Agency.Country] = true, true, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != len(cases.Statuses) || len(procs) != len(cases.ProcessTypes) || len(countries) < 5 {
		t.Fatalf("demo set lacks variety: statuses %v, processes %d/%d, countries %v", statuses, len(procs), len(cases.ProcessTypes), countries)
	}
	if _, err := s.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The demo's targets have platform metadata, the forged emergency's
	// account included: a production in the demo finds records.
	var subscribers, sessions, forged int
	if err := s.Reader().Get(&subscribers, "SELECT COUNT(*) FROM meta_subscribers"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reader().Get(&sessions, "SELECT COUNT(*) FROM meta_ip_sessions"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reader().Get(&forged, s.Reader().Rebind("SELECT COUNT(*) FROM meta_subscribers WHERE account = ?"), demoForgedTarget); err != nil {
		t.Fatal(err)
	}
	if subscribers < 10 || sessions < 100 || forged != 1 {
		t.Errorf("demo metadata: %d subscribers, %d IP sessions, forged target %d", subscribers, sessions, forged)
	}
	// A second --demo run leaves existing data alone.
	n1, _ := s.CountCases(context.Background())
	if err := loadDemo(context.Background(), s, nil, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n2, _ := s.CountCases(context.Background()); n2 != n1 {
		t.Fatalf("demo loaded twice: %d → %d", n1, n2)
	}
}

func TestPolicyReplay(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	// The imported cases' agency is in the directory: replay resolves it.
	if code, _, errOut := cli(t, db, "", "agency", "add", "--name", "New York County District Attorney", "--country", "US",
		"--domain", "dany.nyc.gov", "--phone", "+12123354000"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := cli(t, db, "", "cases", "import", "../../testdata/import/legacy.ndjson"); code != 0 {
		t.Fatal(errOut)
	}
	_, src, _ := cli(t, "", "", "policy", "show")
	// Let subpoenas reach IP logs: the four imported subpoenas ask for them.
	wider := strings.Replace(src, "allow: [basic_subscriber_info]", "allow: [basic_subscriber_info, ip_logs]", 1)
	if wider == src {
		t.Fatal("test edit did not apply")
	}
	file := filepath.Join(dir, "wider.yaml")
	os.WriteFile(file, []byte(wider), 0o600)
	code, out, errOut := cli(t, db, "", "policy", "replay", "--policy", file)
	if code != 0 || !strings.Contains(out, "4 case(s) re-decided, 4 would change") || strings.Count(out, "ip_logs") != 4 ||
		!strings.Contains(out, "partial") || !strings.Contains(out, "approve") {
		t.Fatalf("replay: %d %q %q", code, out, errOut)
	}
	code, out, _ = cli(t, db, "", "policy", "replay", "--policy", file, "--from", "2027-01-01")
	if code != 0 || !strings.Contains(out, "0 case(s) re-decided") {
		t.Fatalf("replay outside the range: %d %q", code, out)
	}
	os.WriteFile(file, []byte(strings.Replace(src, "max: 25", "max: zero", 1)), 0o600)
	if code, _, errOut := cli(t, db, "", "policy", "replay", "--policy", file); code != 1 || !strings.Contains(errOut, "line ") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("broken policy: %d %q", code, errOut)
	}
}
