package report_test

import (
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/exporter/report"
)

func TestParsePeriod(t *testing.T) {
	for _, c := range []struct {
		in, str, prev string
		start, end    string
	}{
		{"2026-Q3", "2026-Q3", "2026-Q2", "2026-07-01", "2026-10-01"},
		{"2026-q1", "2026-Q1", "2025-Q4", "2026-01-01", "2026-04-01"},
		{" 2026-Q4 ", "2026-Q4", "2026-Q3", "2026-10-01", "2027-01-01"},
		{"2026-H1", "2026-H1", "2025-H2", "2026-01-01", "2026-07-01"},
		{"2026-H2", "2026-H2", "2026-H1", "2026-07-01", "2027-01-01"},
	} {
		p, err := report.ParsePeriod(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if p.String() != c.str || p.Prev().String() != c.prev ||
			p.Start().Format(time.DateOnly) != c.start || p.End().Format(time.DateOnly) != c.end ||
			p.Start().Location() != time.UTC {
			t.Errorf("%q = %s prev %s [%s, %s)", c.in, p, p.Prev(), p.Start(), p.End())
		}
	}
	for _, bad := range []string{"", "2026", "2026-Q0", "2026-Q5", "2026-H0", "2026-H3", "2026Q3", "26-Q3", "2026-Q3x", "2026-M3", "0000-Q1"} {
		_, err := report.ParsePeriod(bad)
		if cases.ErrorCode(err) != cases.EINVALID || !strings.Contains(cases.ErrorFields(err)["period"], "YYYY-Qn") {
			t.Errorf("%q: %v, want an invalid period", bad, err)
		}
	}
	last := report.Period{Year: 2026, Kind: 'Q', N: 3}.Last(8)
	if len(last) != 8 || last[0].String() != "2024-Q4" || last[7].String() != "2026-Q3" {
		t.Errorf("last 8 = %v", last)
	}
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		part, whole int64
		want        string
	}{{0, 0, "0.00"}, {0, 5, "0.00"}, {5, 5, "100.00"}, {2, 3, "66.67"}, {1, 3, "33.33"}, {1, 8, "12.50"},
		{10, 18, "55.56"}, {84, 100, "84.00"}, {1, 40000, "0.00"},
		{1, 20000, "0.01"}, // 0.005%: half a hundredth rounds up
	} {
		if got := report.PercentOf(c.part, c.whole).String(); got != c.want {
			t.Errorf("PercentOf(%d, %d) = %s, want %s", c.part, c.whole, got, c.want)
		}
	}
}

func TestBand(t *testing.T) {
	for n, want := range map[int64]string{0: "0-499", 1: "0-499", 499: "0-499", 500: "500-999", 999: "500-999", 1000: "1000-1499"} {
		if got := report.Band(n); got != want {
			t.Errorf("Band(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestChange(t *testing.T) {
	for _, c := range []struct {
		prev, cur int64
		want      string
	}{{25, 94, "+276%"}, {5, 18, "+260%"}, {4, 4, "0%"}, {10, 9, "-10%"}, {0, 5, "n/a"}, {0, 0, "n/a"}, {3, 0, "-100%"}, {1000, 1004, "0%"}, {1000, 1005, "+1%"}} {
		if got := report.Change(c.prev, c.cur); got != c.want {
			t.Errorf("Change(%d, %d) = %s, want %s", c.prev, c.cur, got, c.want)
		}
	}
}

// The CSV header is exactly the one issue 6 fixes, with the EU production
// order (issue 15) appended as a column of its own.
func TestCSVHeader(t *testing.T) {
	want := "period,country,total_requests,total_accounts,percent_some_data,legal_process_requests,legal_process_accounts,legal_process_percent_some_data,emergency_requests,emergency_accounts,emergency_percent_some_data,preservation_requests,preservation_accounts,subpoena,court_order_2703d,search_warrant,pen_register,title_iii,foreign_court_order,foreign_police_request,eu_production_order"
	if got := strings.Join(report.CSVHeader(), ","); got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
}

func TestClassOf(t *testing.T) {
	for _, pt := range cases.ProcessTypes {
		if report.ClassOf(pt) == "" {
			t.Errorf("%s counts nowhere", pt)
		}
	}
	if report.ClassOf("telepathy") != "" {
		t.Error("an unknown type has a class")
	}
}
