package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/seed"
	"envelope/web"
)

// The portal's load test (docs/performance.md): `loadtest seed` fills a
// SQLite database with a million cases fast, with plain SQL; `loadtest`
// sends portal page requests from concurrent clients to a server on this
// machine and reports latency percentiles per path. It only ever talks to
// a loopback address, and stops at --duration or --max-requests.

func init() {
	register(&command{name: "loadtest", args: "--url URL (--db DSN | --cookie SESSION) [--clients 50] [--duration 30s] [--max-requests N] --path PATH [--path PATH ...]",
		summary: "measure portal page latency under concurrent clients (loopback only)", run: loadtest})
	register(&command{name: "loadtest seed", args: "[--db FILE] [--cases 1000000]",
		summary: "fill an empty SQLite database with cases for the load test", run: loadtestSeed})
}

// LoadtestUser is the account the load test signs in as when it makes its
// own session (--db): an auditor, who may read every page and change
// nothing.
const LoadtestUser = "loadtest@localhost"

type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, " ") }
func (p *pathList) Set(v string) error { *p = append(*p, v); return nil }

func loadtest(ctx context.Context, a *app, args []string) error {
	fs := a.flags("loadtest")
	base := fs.String("url", "http://127.0.0.1:8080", "the portal's base URL: must be a loopback address")
	dsn := fs.String("db", "", "the server's database: the load test makes itself a session there as "+LoadtestUser)
	cookie := fs.String("cookie", "", "an existing session cookie value (instead of --db)")
	clients := fs.Int("clients", 50, "concurrent clients")
	duration := fs.Duration("duration", 30*time.Second, "how long to load each path")
	maxReq := fs.Int("max-requests", 200_000, "stop a path after this many requests")
	var paths pathList
	fs.Var(&paths, "path", "a portal path with its query, e.g. /dashboard (repeat for several)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if len(paths) == 0 {
		fs.Usage()
		return usageError{"--path is required"}
	}
	if (*dsn == "") == (*cookie == "") {
		fs.Usage()
		return usageError{"give either --db (to make a session) or --cookie"}
	}
	if *clients < 1 || *clients > 1000 || *duration <= 0 || *duration > 10*time.Minute || *maxReq < 1 {
		return usageError{"--clients must be 1-1000, --duration at most 10m, --max-requests at least 1"}
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return usageError{fmt.Sprintf("--url %q is not an http URL", *base)}
	}
	if err := requireLoopback(ctx, u.Hostname()); err != nil {
		return err
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
			return usageError{fmt.Sprintf("--path %q must start with one /", p)}
		}
	}
	session := *cookie
	if *dsn != "" {
		if session, err = loadtestSession(ctx, a, *dsn); err != nil {
			return err
		}
	}
	var results []loadResult
	for _, p := range paths {
		r, err := loadPath(ctx, strings.TrimSuffix(u.String(), "/")+p, session, *clients, *duration, *maxReq)
		if err != nil {
			return err
		}
		r.Path = p
		results = append(results, r)
		if !*asJSON {
			fmt.Fprintln(a.stdout, r)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if *asJSON {
		b, _ := json.MarshalIndent(results, "", "  ")
		fmt.Fprintln(a.stdout, string(b))
	}
	for _, r := range results {
		if r.Errors > 0 {
			return fmt.Errorf("%s: %d of %d requests failed (first: %s)", r.Path, r.Errors, r.Requests, r.FirstError)
		}
	}
	return nil
}

// requireLoopback refuses any host that is not, or does not resolve only
// to, a loopback address: the load test is for this machine.
func requireLoopback(ctx context.Context, host string) error {
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("resolve %s: %v", host, err)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return usageError{fmt.Sprintf("%s is not a loopback address: the load test only runs against this machine", host)}
		}
	}
	return nil
}

// loadtestSession makes the load test's user (an auditor) if need be and a
// portal session for it, directly in the server's database.
func loadtestSession(ctx context.Context, a *app, dsn string) (string, error) {
	var token string
	err := a.withDB(ctx, dsn, func(s *store.DB) error {
		u, err := s.UserByEmail(ctx, LoadtestUser)
		if cases.ErrorCode(err) == cases.ENOTFOUND {
			u, _, err = s.CreateUser(ctx, a.actor(), LoadtestUser, cases.RoleAuditor)
		}
		if err != nil {
			return err
		}
		if u.MustChangePassword {
			// A password nobody knows: the session is the only way in.
			if err := s.SetPassword(ctx, a.actor(), LoadtestUser, randomPassword(), false); err != nil {
				return err
			}
		}
		token, err = s.CreateSession(ctx, u.ID)
		return err
	})
	return token, err
}

func randomPassword() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loadResult is the latency of one path under load.
type loadResult struct {
	Path       string        `json:"path"`
	Clients    int           `json:"clients"`
	Requests   int           `json:"requests"`
	Errors     int           `json:"errors"`
	FirstError string        `json:"first_error,omitempty"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	PerSecond  float64       `json:"requests_per_second"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	Bytes      int64         `json:"bytes_per_response"`
}

func (r loadResult) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("%s\n  %d clients, %d requests in %s (%.0f/s), %d errors, %d bytes/page\n  p50 %s  p90 %s  p99 %s  max %s",
		r.Path, r.Clients, r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.Errors, r.Bytes,
		ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
}

// loadPath sends GET target from clients concurrent clients, each one
// request at a time, until duration has passed or maxReq were sent. A
// request counts as failed unless it answers 200 (a redirect to sign-in is
// a failure, not followed).
func loadPath(ctx context.Context, target, session string, clients int, duration time.Duration, maxReq int) (loadResult, error) {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// One request first, to fail fast on a wrong URL or session.
	if _, _, err := getOnce(ctx, client, target, session); err != nil {
		return loadResult{}, fmt.Errorf("%s: %w", target, err)
	}
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var sent atomic.Int64
	var mu sync.Mutex
	var all []time.Duration
	var errs int
	var firstErr string
	var size int64
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			var myErrs int
			var myFirst string
			for ctx.Err() == nil && sent.Add(1) <= int64(maxReq) {
				t0 := time.Now()
				n, _, err := getOnce(ctx, client, target, session)
				d := time.Since(t0)
				if ctx.Err() != nil && err != nil {
					break // the deadline cut this request short: not a result
				}
				mine = append(mine, d)
				if err != nil {
					myErrs++
					if myFirst == "" {
						myFirst = err.Error()
					}
				} else {
					atomic.StoreInt64(&size, n)
				}
			}
			mu.Lock()
			all = append(all, mine...)
			errs += myErrs
			if firstErr == "" {
				firstErr = myFirst
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := loadResult{Clients: clients, Requests: len(all), Errors: errs, FirstError: firstErr, Elapsed: elapsed, Bytes: size}
	if len(all) == 0 {
		return r, errors.New("no request completed")
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		i := int(p*float64(len(all))+0.5) - 1
		return all[min(max(i, 0), len(all)-1)]
	}
	r.P50, r.P90, r.P99, r.Max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	r.PerSecond = float64(len(all)) / elapsed.Seconds()
	return r, nil
}

func getOnce(ctx context.Context, client *http.Client, target, session string) (int64, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, 0, err
	}
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session})
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return n, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, resp.StatusCode, fmt.Errorf("status %d (location %q)", resp.StatusCode, resp.Header.Get("Location"))
	}
	return n, resp.StatusCode, nil
}

// loadtestSeed fills an empty database with n cases ending now (package
// seed: plain SQL on SQLite, COPY on PostgreSQL); six in 1,000 are
// assigned to the load test's user (its queue).
func loadtestSeed(ctx context.Context, a *app, args []string) error {
	fs := a.flags("loadtest seed")
	dsn := a.dbFlag(fs)
	n := fs.Int("cases", 1_000_000, "how many cases")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if *n < 1 || *n > 10_000_000 {
		return usageError{"--cases must be 1-10000000"}
	}
	return a.withDB(ctx, *dsn, func(s *store.DB) error {
		have, err := s.CountCases(ctx)
		if err != nil {
			return err
		}
		if have > 0 {
			return fmt.Errorf("%s already holds %d cases: seed an empty database", *dsn, have)
		}
		start := time.Now()
		if err := seed.Cases(ctx, s, *n, time.Now().UTC(), LoadtestUser); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "seeded %d cases in %s\n", *n, time.Since(start).Round(time.Second))
		return nil
	})
}
