package portal

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"envelope/cases/store"
	"envelope/exporter/report"
)

// TallyPeriod is the quarter the PostgreSQL tally counts: about 130,000
// of the seeded million cases.
const TallyPeriod = "2026-Q3"

// Tally times report.Tally of TallyPeriod on the PostgreSQL database of
// the seeded million cases against the very same SQL run by psql (the
// time psql's \timing reports, so process start-up is left out), the best
// of five of each.
func Tally(ctx context.Context, dsn string) (envelope, psql time.Duration, err error) {
	if _, err := exec.LookPath("psql"); err != nil {
		return 0, 0, fmt.Errorf("psql is not installed")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	p, err := report.ParsePeriod(TallyPeriod)
	if err != nil {
		return 0, 0, err
	}
	ours := make([]time.Duration, 5)
	for i := range ours {
		start := time.Now()
		if _, err := report.Tally(ctx, db, p); err != nil {
			return 0, 0, err
		}
		ours[i] = time.Since(start)
	}
	// The query with the period's bounds written as literals, and its
	// output thrown away.
	q := report.TallySQL()
	for _, t := range []time.Time{p.Start(), p.End()} {
		q = strings.Replace(q, "?", "'"+t.Format(time.RFC3339Nano)+"'::timestamptz", 1)
	}
	script := "\\timing on\n\\o /dev/null\n" + strings.Repeat(q+";\n", 5)
	cmd := exec.CommandContext(ctx, "psql", "-X", "-q", dsn)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("psql: %v\n%s", err, out)
	}
	var theirs []time.Duration
	for _, m := range psqlTime.FindAllSubmatch(out, -1) {
		ms, _ := strconv.ParseFloat(string(m[1]), 64)
		theirs = append(theirs, time.Duration(ms*float64(time.Millisecond)))
	}
	if len(theirs) != 5 {
		return 0, 0, fmt.Errorf("psql printed no timings: %s", out)
	}
	return slices.Min(ours), slices.Min(theirs), nil
}

var psqlTime = regexp.MustCompile(`Time: ([0-9.]+) ms`)
