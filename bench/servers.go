package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"envelope/bench/portal"
)

// serverRows measures the portal over HTTP on each engine (50 clients,
// against a bare net/http handler serving a page of the same size), the
// PostgreSQL dashboard against the SQLite one, and the PostgreSQL tally
// against psql running the same SQL.
func serverRows(root, pg string, loadFor time.Duration) ([]row, error) {
	ctx := context.Background()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }
	engines, err := portal.Run(ctx, portal.Options{Root: root, Postgres: pg, Duration: loadFor, Clients: 50, Log: logf})
	if err != nil {
		return nil, err
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var rows []row
	for _, e := range engines {
		rows = append(rows, row{figure: fmt.Sprintf("case list over HTTP, 50 clients, %s, 1,000,000 cases (`%s`)", e.Name, portal.ListPath),
			baseline: "bare net/http, same page size", value: e.List.PerSecond, base: e.Bare.PerSecond, goal: "≥ 0.15x, p99 ≤ 50 ms",
			met:       e.List.PerSecond >= 0.15*e.Bare.PerSecond && ms(e.List.P99) <= 50,
			valueText: fmt.Sprintf("%.0f req/s, p99 %.1f ms (the server's own: ≤ %.0f ms)", e.List.PerSecond, ms(e.List.P99), ms(e.ListServerP99)),
			baseText:  fmt.Sprintf("%.0f req/s, p99 %.1f ms", e.Bare.PerSecond, ms(e.Bare.P99))})
	}
	if len(engines) == 2 {
		s, p := engines[0].Dashboard, engines[1].Dashboard
		rows = append(rows, row{figure: "dashboard over HTTP, 50 clients, PostgreSQL", baseline: "the same on SQLite, same cases",
			value: p.PerSecond, base: s.PerSecond, goal: "≥ 0.8x", met: p.PerSecond >= 0.8*s.PerSecond,
			valueText: fmt.Sprintf("%.0f req/s, p99 %.1f ms", p.PerSecond, ms(p.P99)),
			baseText:  fmt.Sprintf("%.0f req/s, p99 %.1f ms", s.PerSecond, ms(s.P99))})
		ours, psql, err := portal.Tally(ctx, engines[1].DSN)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{figure: "quarterly tally, PostgreSQL (" + portal.TallyPeriod + ")", baseline: "the same SQL in psql",
			value: ms(ours), base: ms(psql), unit: "ms", goal: "≤ 1.2x", met: ms(ours) <= 1.2*ms(psql)})
	}
	return rows, nil
}
