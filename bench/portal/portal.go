// Package portal measures the portal over HTTP the way people use it: a
// real `envelope serve` on a database of a million cases, loaded by 50
// concurrent clients with `envelope loadtest` (a closed loop: each client
// sends its next request when the last one answers), side by side with
// the baselines the issue names, measured in the same run with the same
// load generator: a bare net/http handler writing a page of the same size
// (what the HTTP stack alone costs on this machine), and the other engine.
package portal

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "envelope/cases/store" // the pgx driver
)

// ListPath is the case list measured: a filtered page of 50 rows.
const ListPath = "/cases?status=received&country=GB"

// DashboardPath is the dashboard.
const DashboardPath = "/dashboard"

// Cases is how many cases the databases hold.
const Cases = 1_000_000

// Result is one path's figures under load, as `envelope loadtest --json`
// prints them.
type Result struct {
	Path      string        `json:"path"`
	Requests  int           `json:"requests"`
	Errors    int           `json:"errors"`
	PerSecond float64       `json:"requests_per_second"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Bytes     int64         `json:"bytes_per_response"`
}

// Engine is one database's figures: the list and the dashboard, and the
// bare handler serving a page of the list's size, in the same run.
type Engine struct {
	Name, DSN       string
	List, Dashboard Result
	Bare            Result
	// ListServerP99 bounds the 99th percentile of the list's time as the
	// server measured it (envelope_http_request_duration_seconds, to
	// the bucket): beside the clients' p99, it shows how much of that is
	// the server's answer and how much the two cores shared with the
	// load generator. 0: not read.
	ListServerP99 time.Duration
}

// Options say where and how long to measure.
type Options struct {
	Root     string        // the envelope checkout
	Postgres string        // an admin DSN; "" measures SQLite only
	Duration time.Duration // per path
	Clients  int
	Log      func(format string, args ...any)
}

// Run builds envelope, seeds (once, kept for later runs) and measures
// each engine.
func Run(ctx context.Context, o Options) ([]Engine, error) {
	tmp := filepath.Join(os.TempDir(), "envelope-bench")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Join(tmp, "envelope")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/envelope")
	build.Dir = o.Root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build envelope: %v\n%s", err, out)
	}
	tag, err := schemaTag(o.Root)
	if err != nil {
		return nil, err
	}
	dsns := []struct{ name, dsn string }{{"SQLite", filepath.Join(os.TempDir(), "envelope-bench-portal-1m-"+tag+".db")}}
	if err := seedFile(ctx, bin, dsns[0].dsn, o.Log); err != nil {
		return nil, err
	}
	if o.Postgres != "" {
		dsn, err := pgDatabase(ctx, o.Postgres, "envelope_bench_portal_1m_"+tag, bin, o.Log)
		if err != nil {
			return nil, err
		}
		dsns = append(dsns, struct{ name, dsn string }{"PostgreSQL", dsn})
	}
	var out []Engine
	for _, d := range dsns {
		e, err := measure(ctx, bin, d.name, d.dsn, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// schemaTag names the newest migration: the seeded databases are named by
// it, so a new migration seeds new ones.
func schemaTag(root string) (string, error) {
	files, err := os.ReadDir(filepath.Join(root, "cases/store/migrations/postgres"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("migrations: %v", err)
	}
	name := files[len(files)-1].Name()
	return name[:strings.IndexByte(name, '_')], nil
}

// seedFile seeds a SQLite file of a million cases unless it exists.
func seedFile(ctx context.Context, bin, path string, logf func(string, ...any)) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	logf("seeding %s (a few minutes, kept for later runs)", path)
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := seedCmd(ctx, bin, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// pgDatabase returns the DSN of the PostgreSQL database of a million
// cases on the admin DSN's server, seeding it (with COPY) unless it exists.
func pgDatabase(ctx context.Context, admin, name, bin string, logf func(string, ...any)) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	dsn := func(db string) string { v := *u; v.Path = "/" + db; return v.String() }
	adm, err := sql.Open("pgx", admin)
	if err != nil {
		return "", err
	}
	defer adm.Close()
	var exists bool
	if err := adm.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return dsn(name), nil
	}
	logf("seeding PostgreSQL database %s (a few minutes, kept for later runs)", name)
	tmp := name + "_tmp"
	adm.ExecContext(ctx, "DROP DATABASE IF EXISTS "+tmp+" WITH (FORCE)")
	if _, err := adm.ExecContext(ctx, "CREATE DATABASE "+tmp); err != nil {
		return "", err
	}
	if err := seedCmd(ctx, bin, dsn(tmp)); err != nil {
		return "", err
	}
	if _, err := adm.ExecContext(ctx, "ALTER DATABASE "+tmp+" RENAME TO "+name); err != nil {
		return "", err
	}
	return dsn(name), nil
}

func seedCmd(ctx context.Context, bin, dsn string) error {
	cmd := exec.CommandContext(ctx, bin, "loadtest", "seed", "--db", dsn, "--cases", fmt.Sprint(Cases))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("seed: %v\n%s", err, tail(out))
	}
	return nil
}

// measure serves dsn with `envelope serve`, loads the list and the
// dashboard, then the bare handler with a page of the list's size.
func measure(ctx context.Context, bin, name, dsn string, o Options) (Engine, error) {
	e := Engine{Name: name, DSN: dsn}
	addr, err := freeAddr()
	if err != nil {
		return e, err
	}
	var logBuf bytes.Buffer
	// No deadline scanner: it would raise alerts in the seeded database
	// as it runs, and the engines would no longer hold the same data.
	// The keys are kept with the seeded database: the first serve records
	// its signing key in it, and a later serve with other keys (the
	// bench run from another checkout) is refused, as an instance of a
	// deployment with the wrong keys folder would be.
	keys := filepath.Join(os.TempDir(), "envelope-bench-keys-"+strings.ToLower(name))
	srv := exec.CommandContext(ctx, bin, "serve", "--db", dsn, "--addr", addr, "--remind-every", "0", "--keys", keys)
	srv.Stdout, srv.Stderr = &logBuf, &logBuf
	if err := srv.Start(); err != nil {
		return e, err
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-done
		}
	}()
	if err := waitHealthy(ctx, "http://"+addr+"/healthz"); err != nil {
		return e, fmt.Errorf("serve: %w\n%s", err, tail(logBuf.Bytes()))
	}
	o.Log("%s: loading %s and %s, %d clients, %s each", name, ListPath, DashboardPath, o.Clients, o.Duration)
	rs, err := load(ctx, bin, o, "http://"+addr, "--db", dsn, ListPath, DashboardPath)
	if err != nil {
		return e, err
	}
	e.List, e.Dashboard = rs[0], rs[1]
	if e.ListServerP99, err = serverP99(ctx, "http://"+addr+"/metrics", "/cases"); err != nil {
		return e, err
	}

	// The baseline: net/http alone, writing as many bytes as the list.
	page := bytes.Repeat([]byte("<tr><td>LR-2026-000000</td><td>received</td></tr>\n"), int(e.List.Bytes)/50+1)[:e.List.Bytes]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return e, err
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})}
	go bare.Serve(ln)
	defer bare.Close()
	o.Log("%s: loading the bare handler (%d bytes a page)", name, len(page))
	rs, err = load(ctx, bin, o, "http://"+ln.Addr().String(), "--cookie", "none", ListPath)
	if err != nil {
		return e, err
	}
	e.Bare = rs[0]
	return e, nil
}

// serverP99 reads from a served instance's metrics the upper bound of the
// histogram bucket that holds the 99th percentile of route's GET times.
func serverP99(ctx context.Context, metricsURL, route string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", metricsURL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	prefix := `envelope_http_request_duration_seconds_bucket{method="GET",route="` + route + `",le="`
	type bucket struct{ le, n float64 }
	var buckets []bucket
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, count, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(count, 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %v", line, err)
		}
		b := bucket{n: n}
		if b.le, err = strconv.ParseFloat(le, 64); le == "+Inf" {
			b.le, err = math.Inf(1), nil
		}
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %v", line, err)
		}
		buckets = append(buckets, b)
	}
	if len(buckets) == 0 {
		return 0, fmt.Errorf("%s has no duration histogram for %s", metricsURL, route)
	}
	total := buckets[len(buckets)-1].n
	for _, b := range buckets {
		if b.n >= 0.99*total {
			if math.IsInf(b.le, 1) {
				return 0, nil
			}
			return time.Duration(b.le * float64(time.Second)), nil
		}
	}
	return 0, nil
}

// load runs `envelope loadtest` on the paths and returns its results.
func load(ctx context.Context, bin string, o Options, base, authFlag, authValue string, paths ...string) ([]Result, error) {
	args := []string{"loadtest", "--url", base, authFlag, authValue, "--clients", fmt.Sprint(o.Clients),
		"--duration", o.Duration.String(), "--max-requests", "10000000", "--json"}
	for _, p := range paths {
		args = append(args, "--path", p)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("loadtest: %v\n%s\n%s", err, tail(stdout.Bytes()), tail(stderr.Bytes()))
	}
	// The JSON is the last thing printed (migration logs may precede it).
	out := stdout.Bytes()
	i := bytes.LastIndex(out, []byte("\n[")) + 1
	var rs []Result
	if err := json.Unmarshal(out[i:], &rs); err != nil || len(rs) != len(paths) {
		return nil, fmt.Errorf("loadtest printed %q: %v", tail(out), err)
	}
	return rs, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHealthy(ctx context.Context, u string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return errors.New("not healthy after two minutes")
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
