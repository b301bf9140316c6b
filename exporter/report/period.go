package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"envelope/cases"
)

// Period is a reporting period: a calendar quarter or half year, in UTC.
type Period struct {
	Year int
	Kind byte // 'Q' for a quarter, 'H' for a half year
	N    int  // 1-4 for a quarter, 1-2 for a half year
}

var periodRE = regexp.MustCompile(`^([0-9]{4})-([QH])([0-9])$`)

// ParsePeriod parses "2026-Q3" (a quarter) or "2026-H2" (a half year), in
// either case. Anything else is an EINVALID error naming "period".
func ParsePeriod(s string) (Period, error) {
	m := periodRE.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m != nil {
		year, _ := strconv.Atoi(m[1])
		p := Period{Year: year, Kind: m[2][0], N: int(m[3][0] - '0')}
		if year >= 1 && p.N >= 1 && p.N <= p.count() {
			return p, nil
		}
	}
	return Period{}, cases.Invalid(map[string]string{"period": fmt.Sprintf(
		"%q is not a period: use YYYY-Qn for a quarter (n = 1-4) or YYYY-Hn for a half year (n = 1-2), e.g. 2026-Q3", s)})
}

// count is how many periods of p's kind a year has.
func (p Period) count() int {
	if p.Kind == 'H' {
		return 2
	}
	return 4
}

func (p Period) months() int { return 12 / p.count() }

// String formats the period as it is parsed, e.g. "2026-Q3".
func (p Period) String() string { return fmt.Sprintf("%04d-%c%d", p.Year, p.Kind, p.N) }

// Start is the first instant of the period, in UTC.
func (p Period) Start() time.Time {
	return time.Date(p.Year, time.Month((p.N-1)*p.months()+1), 1, 0, 0, 0, 0, time.UTC)
}

// End is the first instant after the period: a request counts in the period
// when Start <= received_at < End.
func (p Period) End() time.Time { return p.Start().AddDate(0, p.months(), 0) }

// Prev returns the period of the same kind just before p (2026-Q1 → 2025-Q4).
func (p Period) Prev() Period {
	if p.N == 1 {
		return Period{Year: p.Year - 1, Kind: p.Kind, N: p.count()}
	}
	return Period{Year: p.Year, Kind: p.Kind, N: p.N - 1}
}

// Last returns the n periods of p's kind ending with p, oldest first.
func (p Period) Last(n int) []Period {
	out := make([]Period, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = p
		p = p.Prev()
	}
	return out
}

// MarshalText makes a period read as "2026-Q3" in JSON.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a period with ParsePeriod.
func (p *Period) UnmarshalText(b []byte) error {
	v, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
