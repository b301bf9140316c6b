package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"envelope/cases/jobs"
	"envelope/cases/metadata"
)

// metrics are the server's Prometheus metrics, served at /metrics. Each
// Server has its own registry (tests run many servers in one process);
// scheduler runs are counted process-wide, where the schedulers run.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	admitWait *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	// limitErrors counts rate-limit checks the shared buckets could not
	// answer (limiter.go), by limit: sign-ins refused, API requests let
	// through on this instance's own buckets.
	limitErrors *prometheus.CounterVec
	// collected counts the collection feed's events by what became of
	// them: its rate is the collection rate an operator watches.
	collected *prometheus.CounterVec
}

// countCollected adds one Collect's result to the collection counters.
func (m *metrics) countCollected(res metadata.CollectResult) {
	for outcome, n := range map[string]int64{"kept": res.Kept, "rejected": res.Rejected, "clock_error": res.ClockErrors,
		"dropped": res.Received - res.Kept - res.Rejected - res.ClockErrors} {
		m.collected.WithLabelValues(outcome).Add(float64(n))
	}
}

// schedulerRuns counts the scheduled jobs' runs (production, purges), told
// by package jobs.
var schedulerRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "envelope_scheduler_runs_total", Help: "Runs of a scheduled job, by job and outcome (ok, error).",
}, []string{"job", "outcome"})

func init() {
	jobs.Listen(func(job string, err error) {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		schedulerRuns.WithLabelValues(job, outcome).Inc()
	})
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envelope_http_requests_total", Help: "HTTP requests answered, by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "envelope_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		admitWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "envelope_admission_wait_seconds", Help: "Time a page read waited for an admission slot, by outcome (admitted, timeout, cancelled).",
			Buckets: []float64{.0001, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envelope_decisions_total", Help: "Policy decisions made, by outcome.",
		}, []string{"outcome"}),
		collected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envelope_collection_events_total", Help: "Message events the collection feed sent, by outcome (kept: stored as pairs of a case; dropped: no target's window; rejected: malformed; clock_error: stamped in the future).",
		}, []string{"outcome"}),
		limitErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envelope_ratelimit_errors_total", Help: "Rate-limit checks the shared buckets could not answer, by limit (sign-in: refused; api: decided by this instance's own buckets).",
		}, []string{"limit"}),
	}
	db := s.DB
	m.reg.MustRegister(m.requests, m.latency, m.admitWait, m.decisions, m.collected, m.limitErrors, schedulerRuns, evictedConns,
		promcollectors.NewGoCollector(), promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "envelope_db_commits_total", Help: "Write transactions this instance committed.",
		}, func() float64 { return float64(db.Commits()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "envelope_db_tx_retries_total", Help: "Transactions run again after PostgreSQL aborted them for a deadlock or serialization failure.",
		}, func() float64 { return float64(db.Retries()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "envelope_db_deadlocks_total", Help: "Of the transactions run again, those PostgreSQL aborted for a deadlock: the lock order should leave none.",
		}, func() float64 { return float64(db.Deadlocks()) }),
		// Read from the database at each scrape, so it counts every
		// instance's appends and only committed ones.
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "envelope_audit_events", Help: "Events in the audit log (its head's sequence number); its rate is the audit appends.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
			defer cancel()
			seq, _, err := db.AuditHead(ctx)
			if err != nil {
				return -1
			}
			return float64(seq)
		}),
	)
	s.admission.onWait = func(d time.Duration, outcome string) {
		m.admitWait.WithLabelValues(outcome).Observe(d.Seconds())
	}
	return m
}

// observe is the middleware counting and timing every request by its
// route pattern (never its path, which holds case numbers).
func (m *metrics) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		method := methodLabel(c.Request.Method)
		m.requests.WithLabelValues(route, method, strconv.Itoa(c.Writer.Status())).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	}
}

// knownMethods are the methods HTTP defines (RFC 9110, and PATCH).
var knownMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: true, http.MethodOptions: true, http.MethodTrace: true}

// methodLabel is a request's method as the metrics label it: any other
// than knownMethods is "other", for a client may send any token as a
// method and each label value is a series kept for good.
func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "other"
}

// handler serves the registry in Prometheus' text format.
func (m *metrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}
