// Package report builds the quarterly transparency report: how many
// government requests the platform received per requesting country and
// period, how many accounts they named and how often some data was produced,
// with national-security process only in delayed bands. The counting is
// done in SQL (see TallySQL) on SQLite and PostgreSQL alike; the package
// renders it as CSV, JSON and PDF, and Explain lists the cases behind a row
// so that every published figure can be traced.
package report

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"envelope/cases/store"
	"envelope/exporter/csvsafe"
)

// TrendPeriods is how many periods the trend covers, the report's included.
const TrendPeriods = 8

// Report is the transparency report of one period.
type Report struct {
	Period      Period
	GeneratedAt time.Time
	// Rows has one row per requesting country, sorted by country code.
	Rows   []Row
	Totals Row
	// NationalSecurity is banded and possibly pending; see NationalSecurity.
	NationalSecurity NationalSecurity
	// Trend is the totals of the TrendPeriods periods ending with Period,
	// oldest first; its last entry equals Totals.
	Trend []PeriodTotals
}

// Generate builds the report of period p as generated at time at, which
// decides whether the national-security figures are due (the 180-day rule).
// The tally and the trend run side by side; the trend's last point is the
// tally's own totals, so the report's period is read once.
func Generate(ctx context.Context, db *store.DB, p Period, at time.Time) (*Report, error) {
	r := &Report{Period: p, GeneratedAt: at.UTC()}
	var earlier []PeriodTotals
	err := parallel(
		func() (err error) {
			if r.Rows, err = Tally(ctx, db, p); err != nil {
				return err
			}
			r.NationalSecurity, err = NationalSecurityTable(ctx, db, p, r.GeneratedAt)
			return err
		},
		func() (err error) {
			earlier, err = Trend(ctx, db, p.Prev(), TrendPeriods-1)
			return err
		},
	)
	if err != nil {
		return nil, err
	}
	r.Totals = Sum(r.Rows)
	r.Trend = append(earlier, PeriodTotals{Period: p, Totals: r.Totals})
	return r, nil
}

// Previous returns the totals of the period before the report's.
func (r *Report) Previous() PeriodTotals {
	if len(r.Trend) >= 2 {
		return r.Trend[len(r.Trend)-2]
	}
	return PeriodTotals{Period: r.Period.Prev(), Totals: Sum(nil)}
}

// Comparison is one measure of the report against the previous period.
type Comparison struct {
	Measure  string `json:"measure"`
	Previous int64  `json:"previous"`
	Current  int64  `json:"current"`
	Change   string `json:"change"` // see Change
}

// Changes compares the report's totals with the previous period's: the
// totals, then each legal-process type, emergency and preservation.
func (r *Report) Changes() []Comparison {
	prev, cur := r.Previous().Totals, r.Totals
	c := func(measure string, p, n int64) Comparison {
		return Comparison{Measure: measure, Previous: p, Current: n, Change: Change(p, n)}
	}
	out := []Comparison{
		c("total_requests", prev.Total.Requests, cur.Total.Requests),
		c("total_accounts", prev.Total.Accounts, cur.Total.Accounts),
		c("legal_process_requests", prev.LegalProcess.Requests, cur.LegalProcess.Requests),
	}
	for _, t := range LegalProcessTypes {
		out = append(out, c(string(t), prev.Process(t), cur.Process(t)))
	}
	return append(out,
		c("emergency_requests", prev.Emergency.Requests, cur.Emergency.Requests),
		c("preservation_requests", prev.Preservation.Requests, cur.Preservation.Requests))
}

// field is one column of a row as text: CSV writes the text, JSON writes it
// as a number or, when str is set, as a string. Deriving both formats from
// one list keeps their names and digits identical.
type field struct {
	name, text string
	str        bool
	jsonOnly   bool // not a column of the fixed CSV layout
}

func (c Counts) fields(prefix, percent string) []field {
	return []field{
		{name: prefix + "_requests", text: itoa(c.Requests)},
		{name: prefix + "_accounts", text: itoa(c.Accounts)},
		{name: prefix + "_produced", text: itoa(c.Produced), jsonOnly: true},
		{name: percent, text: c.Percent().String()},
	}
}

func (r *Row) fields() []field {
	fs := []field{{name: "country", text: r.Country, str: true}}
	fs = append(fs, r.Total.fields("total", "percent_some_data")...)
	fs = append(fs, r.LegalProcess.fields("legal_process", "legal_process_percent_some_data")...)
	fs = append(fs, r.Emergency.fields("emergency", "emergency_percent_some_data")...)
	fs = append(fs,
		field{name: "preservation_requests", text: itoa(r.Preservation.Requests)},
		field{name: "preservation_accounts", text: itoa(r.Preservation.Accounts)})
	for _, t := range LegalProcessTypes {
		fs = append(fs, field{name: string(t), text: itoa(r.Process(t))})
	}
	return fs
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// CSVHeader is the header row of the report's CSV.
func CSVHeader() []string {
	h := []string{"period"}
	for _, f := range (&Row{}).fields() {
		if !f.jsonOnly {
			h = append(h, f.name)
		}
	}
	return h
}

// WriteCSV writes the header and one row per country, sorted by country
// code. There is no totals row: every line is a country.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csvsafe.NewWriter(w)
	cw.Write(CSVHeader())
	for i := range r.Rows {
		rec := []string{r.Period.String()}
		for _, f := range r.Rows[i].fields() {
			if !f.jsonOnly {
				rec = append(rec, f.text)
			}
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// NationalSecurityCSVHeader is the header of the national-security CSV.
var NationalSecurityCSVHeader = []string{"period", "country", "process", "requests", "accounts",
	"requests_min", "requests_max", "accounts_min", "accounts_max"}

// WriteNationalSecurityCSV writes the national-security table: one row per
// kind of process, with bands or "pending".
func (r *Report) WriteNationalSecurityCSV(w io.Writer) error {
	cw := csvsafe.NewWriter(w)
	cw.Write(NationalSecurityCSVHeader)
	for _, b := range r.NationalSecurity.Rows {
		cw.Write([]string{r.Period.String(), r.NationalSecurity.Country, string(b.Process), b.Requests, b.Accounts,
			optInt(b.RequestsMin), optInt(b.RequestsMax), optInt(b.AccountsMin), optInt(b.AccountsMax)})
	}
	cw.Flush()
	return cw.Error()
}

// MarshalJSON writes a row as one flat object named like the CSV columns,
// plus the produced counts behind each percentage. The totals row has no
// country.
func (r Row) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, f := range r.fields() {
		if f.name == "country" && f.text == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(f.name)
		b.Write(name)
		b.WriteByte(':')
		if f.str {
			v, _ := json.Marshal(f.text)
			b.Write(v)
		} else {
			b.WriteString(f.text)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// The JSON document: the report, the national-security table, the previous
// period compared, and the trend.
type reportJSON struct {
	Period           Period           `json:"period"`
	From             time.Time        `json:"from"`
	To               time.Time        `json:"to"`
	GeneratedAt      time.Time        `json:"generated_at"`
	Rows             []Row            `json:"rows"`
	Totals           Row              `json:"totals"`
	NationalSecurity NationalSecurity `json:"national_security"`
	Previous         previousJSON     `json:"previous"`
	Trend            []trendJSON      `json:"trend"`
}

type previousJSON struct {
	Period          Period       `json:"period"`
	PercentSomeData Percent      `json:"percent_some_data"`
	Changes         []Comparison `json:"changes"`
}

type trendJSON struct {
	Period               Period  `json:"period"`
	TotalRequests        int64   `json:"total_requests"`
	TotalAccounts        int64   `json:"total_accounts"`
	PercentSomeData      Percent `json:"percent_some_data"`
	LegalProcessRequests int64   `json:"legal_process_requests"`
	EmergencyRequests    int64   `json:"emergency_requests"`
	PreservationRequests int64   `json:"preservation_requests"`
}

// MarshalJSON writes the report as documented in docs/report.md.
func (r *Report) MarshalJSON() ([]byte, error) {
	prev := r.Previous()
	doc := reportJSON{
		Period: r.Period, From: r.Period.Start(), To: r.Period.End(), GeneratedAt: r.GeneratedAt,
		Rows: r.Rows, Totals: r.Totals, NationalSecurity: r.NationalSecurity,
		Previous: previousJSON{Period: prev.Period, PercentSomeData: prev.Totals.Total.Percent(), Changes: r.Changes()},
		Trend:    []trendJSON{},
	}
	if doc.Rows == nil {
		doc.Rows = []Row{}
	}
	for _, t := range r.Trend {
		doc.Trend = append(doc.Trend, trendJSON{
			Period: t.Period, TotalRequests: t.Totals.Total.Requests, TotalAccounts: t.Totals.Total.Accounts,
			PercentSomeData:      t.Totals.Total.Percent(),
			LegalProcessRequests: t.Totals.LegalProcess.Requests, EmergencyRequests: t.Totals.Emergency.Requests,
			PreservationRequests: t.Totals.Preservation.Requests,
		})
	}
	return json.Marshal(doc)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteNationalSecurityJSON writes the national-security table alone.
func (r *Report) WriteNationalSecurityJSON(w io.Writer) error {
	b, err := json.MarshalIndent(struct {
		Period Period `json:"period"`
		NationalSecurity
	}{r.Period, r.NationalSecurity}, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// optInt writes a band number, or "" while the bands are pending.
func optInt(n *int64) string {
	if n == nil {
		return ""
	}
	return itoa(*n)
}
