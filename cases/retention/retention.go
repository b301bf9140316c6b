// Package retention deletes what envelope no longer needs to keep, and
// keeps what a legal hold says must stay.
//
// Two settings, both off (zero: keep for ever) unless an operator sets
// them: how long collected message pairs are kept after they were
// collected, and how long a closed case keeps its sensitive data after it
// was closed. A purge (Purger.Purge, run hourly by `envelope serve` and on
// demand by `envelope retention purge`) deletes, one case per transaction
// and with an audit event carrying counts (never contents), what the
// settings let go: nothing that has not been disclosed yet, nothing the
// transparency report counts, and nothing of a case under a legal hold.
// docs/retention.md states exactly what is and is not removed.
package retention

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"envelope/cases"
)

// Settings are the retention periods. Zero keeps for ever.
type Settings struct {
	// Pairs is how long a collected message pair is kept after its
	// collected_at, once it may go (see Purger).
	Pairs time.Duration `json:"retain_pairs"`
	// Closed is how long a closed case keeps its sensitive data after it
	// was closed.
	Closed time.Duration `json:"retain_closed"`
}

// Enabled reports whether any retention period is set.
func (s Settings) Enabled() bool { return s.Pairs > 0 || s.Closed > 0 }

// Validate checks the periods, naming the bad ones.
func (s Settings) Validate() error {
	bad := map[string]string{}
	if s.Pairs < 0 {
		bad["retain_pairs"] = "must not be negative (0 keeps for ever)"
	}
	if s.Closed < 0 {
		bad["retain_closed"] = "must not be negative (0 keeps for ever)"
	}
	if len(bad) > 0 {
		return cases.Invalid(bad)
	}
	return nil
}

// maxDays is the longest period in days a time.Duration holds (about 292
// years); more would wrap around, to a shorter or a negative period.
const maxDays = math.MaxInt64 / int64(24*time.Hour)

// ParseDuration reads a retention period: a whole number of days ("90d"),
// a Go duration ("2160h", "36h30m"), or "0" (keep for ever). Retention is
// thought of in days, which Go's durations lack.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		switch {
		case err != nil || n < 0:
			return 0, fmt.Errorf("%q is not a number of days (e.g. 90d)", s)
		case n > maxDays:
			return 0, fmt.Errorf("%q is too long: at most %dd (0 keeps for ever)", s, maxDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 90d or 2160h; 0 keeps for ever)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative (0 keeps for ever)", s)
	}
	return d, nil
}

// FormatDuration renders a period the way ParseDuration reads it: whole
// days as "90d", zero as "0".
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d == 0 {
		return "0"
	}
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}
