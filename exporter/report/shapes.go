package report

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter/csvsafe"
)

// The public shapes: the report as the files people already load into
// their spreadsheets (shared/report-shapes.md): Google's long user-data-
// requests CSV, Meta's wide government-requests CSV, and the EU Digital
// Services Act's Article 15 orders table; beside them envelope's outcomes
// table (rejected or challenged, no data, some data, content never,
// nondisclosure orders, response times) and the national-security bands
// as numbers.

// GoogleHeader is Google's long format.
var GoogleHeader = []string{"Period Ending", "Country/Region", "CLDR Territory Code", "Legal Process", "User Data Requests", "Percentage disclosed", "Accounts"}

// GoogleNationalSecurityHeader is Google's national-security file.
var GoogleNationalSecurityHeader = []string{"Reporting period ending date", "Number of requests (range MIN)", "Number of requests (range MAX)",
	"Number of accounts (range MIN)", "Number of accounts (range MAX)"}

// MetaHeader is Meta's wide format.
var MetaHeader = strings.Split("Country,Preservation Requests,Preservation Accounts Preserved,Total Requests,Number of Requests Where Some Data Produced,Total Requests Accounts,Total Requests Percentage,Legal Process Request Total,Legal Number of Requests Where Some Data Produced,Legal Process Request Total Accounts,Legal Process Request Total Percentage,Emergency Request Total,ER Number of Requests Where Some Data Produced,Emergency Request Total Accounts,Emergency Request Total Percentage,Search Warrant,Search Warrant Accounts,Search Warrant Percentage,Subpoena,Subpoena Accounts,Subpoena Percentage,Court Order (Other),Court Order (Other) Accounts,Court Order (Other) Percentage,MLAT Search Warrant,MLAT Search Warrant Accounts,MLAT Search Warrant Percentage,MLAT Order,MLAT Order Accounts,MLAT Order Percentage,Court Order (18 USC 2703(d)),Court Order (18 USC 2703(d)) Accounts,Court Order (18 USC 2703(d)) Percentage,Pen Register/Trap and Trace,Pen Register/Trap and Trace Accounts,Pen Register/Trap and Trace Percentage,Title III,Title III Accounts,Title III Percentage,FISA Content Requests,FISA Content Requests Accounts,FISA Content Requests Percentage,FISA Non-Content Requests,FISA Non-Content Requests Accounts,FISA Non-Content Requests Percentage,NSLs,NSLs Accounts,NSLs Percentage", ",")

// DSAHeader is the DSA Article 15 template's table of orders from Member
// States.
var DSAHeader = []string{"Applicability", "Service", "Reporting period", "Category of illegal content", `Description of the sub-category "Other"`, "Scope",
	"Number of orders to act against illegal content received", "Number of specific items of information included in the total number of orders to act against illegal content",
	"Median time to inform the authority of the receipt of the order to act against illegal content", "Median time to give effect to the order to act against illegal content",
	"Number of orders to provide information", "Median time to inform the authority of the receipt of the order to provide information",
	"Median time to give effect to the order to provide information",
	"Contextual information on number of orders to act against illegal content received",
	"Contextual information on number of specific items of information included in the total number of orders to act against illegal content",
	"Contextual information on Median time to inform the authority of the receipt of the order to act against illegal content",
	"Contextual information on Median time to give effect to the order to act against illegal content",
	"Contextual information on Number of orders to provide information",
	"Contextual information on Median time to inform the authority of the receipt of the order to provide information",
	"Contextual information on Median time to give effect to the order to provide information"}

// OutcomesHeader is envelope's outcomes table: per country and process,
// how requests ended and how fast they were answered.
var OutcomesHeader = []string{"Period Ending", "Country/Region", "CLDR Territory Code", "Legal Process", "Requests", "Accounts",
	"Rejected or Challenged", "No Data Found", "Some Data Produced", "Content Produced", "Only Non-Content Data Produced",
	"Percentage under Nondisclosure Order", "Median Hours to Acknowledge", "Median Hours to Respond", "90th Percentile Hours to Respond"}

// Lines of the long formats, in Google's words. CLOUD Act orders and
// MLAT requests are lines of their own, whatever their process type.
const (
	LineAll          = "All"
	LineEmergency    = "Emergency Disclosure Requests"
	LinePreservation = "Preservation Requests"
	LineCloudAct     = "CLOUD Act - IPA CDRs"
	LineMLAT         = "MLAT Requests"
)

var processLines = map[cases.ProcessType]string{
	cases.Subpoena: "Subpoenas", cases.SearchWarrant: "Search Warrants", cases.CourtOrder2703d: "Other Court Orders",
	cases.PenRegister: "Pen Register Orders", cases.TitleIII: "Wiretap Orders", cases.Emergency: LineEmergency,
	cases.Preservation: LinePreservation, cases.ForeignCourtOrder: "Court Orders", cases.ForeignPoliceRequest: "Police Requests",
}

// LineOf is the long formats' line of a request.
func LineOf(f Facts) string {
	switch {
	case f.Process == cases.Preservation || f.Process == cases.Emergency:
		return processLines[f.Process]
	case f.Via == cases.ViaCloudAct:
		return LineCloudAct
	case f.Via == cases.ViaMLAT:
		return LineMLAT
	}
	if l, ok := processLines[f.Process]; ok {
		return l
	}
	return "Other Legal Requests"
}

// lineOrder is the order lines appear in within a country.
var lineOrder = []string{LineAll, "Subpoenas", "Search Warrants", "Other Court Orders", "Pen Register Orders", "Wiretap Orders",
	"Court Orders", "Police Requests", LineCloudAct, LineMLAT, "Other Legal Requests", LineEmergency, LinePreservation}

// Shapes are the tallies the public shapes are written from.
type Shapes struct {
	Period Period
	// Lines maps a country to its lines' tallies; "All" is every request
	// but preservation.
	Lines map[string]map[string]*OutcomeTally
	// ByProcess maps a country to its tallies by process type, for Meta's
	// columns.
	ByProcess map[string]map[string]*OutcomeTally
	// NationalSecurity is the bands as numbers, nil while pending.
	NationalSecurity []NumericBands
	BandSize         int64
	// Service names the service in the DSA table.
	Service string
}

// NumericBands are one kind of national-security process's bands.
type NumericBands struct {
	Process                    cases.ProcessType
	RequestsMin, RequestsMax   int64
	AccountsMin, AccountsMax   int64
	RequestsText, AccountsText string
}

// BandOf returns the band of size holding n.
func BandOf(n, size int64) (lo, hi int64) {
	lo = n / size * size
	return lo, lo + size - 1
}

// ShapeOptions configure the public shapes.
type ShapeOptions struct {
	// BandSize is the national-security band width: 500 or 1000
	// (50 U.S.C. 1874). Default 500.
	BandSize int64
	// Service names the service in the DSA table.
	Service string
}

// GenerateShapes tallies period p for the public shapes as generated at.
func GenerateShapes(ctx context.Context, db *store.DB, p Period, at time.Time, opt ShapeOptions) (*Shapes, error) {
	if opt.BandSize == 0 {
		opt.BandSize = BandSize
	}
	if opt.BandSize != 500 && opt.BandSize != 1000 {
		return nil, cases.Invalid(map[string]string{"band_size": "must be 500 or 1000 (50 U.S.C. 1874)"})
	}
	facts, err := LoadFacts(ctx, db, p)
	if err != nil {
		return nil, err
	}
	s := &Shapes{Period: p, Lines: map[string]map[string]*OutcomeTally{}, ByProcess: map[string]map[string]*OutcomeTally{},
		BandSize: opt.BandSize, Service: opt.Service}
	get := func(m map[string]map[string]*OutcomeTally, country, key string) *OutcomeTally {
		if m[country] == nil {
			m[country] = map[string]*OutcomeTally{}
		}
		if m[country][key] == nil {
			m[country][key] = &OutcomeTally{}
		}
		return m[country][key]
	}
	for _, f := range facts {
		get(s.Lines, f.Country, LineOf(f)).add(f)
		if f.Process != cases.Preservation {
			get(s.Lines, f.Country, LineAll).add(f)
		}
		key := string(f.Process)
		if f.Via == cases.ViaMLAT {
			key = "mlat_" + key
		}
		get(s.ByProcess, f.Country, key).add(f)
	}
	for _, m := range []map[string]map[string]*OutcomeTally{s.Lines, s.ByProcess} {
		for _, lines := range m {
			for _, t := range lines {
				t.finish()
			}
		}
	}
	ns, err := NationalSecurityTable(ctx, db, p, at)
	if err != nil {
		return nil, err
	}
	if ns.Status != Pending {
		counts, err := nationalSecurityCounts(ctx, db, p)
		if err != nil {
			return nil, err
		}
		for _, t := range NationalSecurityTypes {
			c := counts[t]
			b := NumericBands{Process: t}
			b.RequestsMin, b.RequestsMax = BandOf(c[0], opt.BandSize)
			b.AccountsMin, b.AccountsMax = BandOf(c[1], opt.BandSize)
			b.RequestsText = fmt.Sprintf("%d-%d", b.RequestsMin, b.RequestsMax)
			b.AccountsText = fmt.Sprintf("%d-%d", b.AccountsMin, b.AccountsMax)
			s.NationalSecurity = append(s.NationalSecurity, b)
		}
	}
	return s, nil
}

// nationalSecurityCounts counts the requests and accounts of each kind of
// national-security process in period p. Every nsl and fisa case is
// counted, whatever agency country was logged: the policy admits them
// from the US only, and a mislogged one must still be counted somewhere
// rather than vanish.
func nationalSecurityCounts(ctx context.Context, db *store.DB, p Period) (map[cases.ProcessType][2]int64, error) {
	var got []struct {
		Process  string `db:"process_type"`
		Requests int64  `db:"requests"`
		Accounts int64  `db:"accounts"`
	}
	r := db.Reader()
	if err := r.SelectContext(ctx, &got, r.Rebind(`SELECT process_type, COUNT(*) AS requests,
		CAST(COALESCE(SUM(target_count), 0) AS BIGINT) AS accounts
		FROM cases WHERE received_at >= ? AND received_at < ? AND process_type IN `+sqlList(NationalSecurityTypes)+`
		GROUP BY process_type`), p.Start(), p.End()); err != nil {
		return nil, fmt.Errorf("national-security tally: %w", err)
	}
	out := map[cases.ProcessType][2]int64{}
	for _, g := range got {
		out[cases.ProcessType(g.Process)] = [2]int64{g.Requests, g.Accounts}
	}
	return out, nil
}

// countries returns the countries with requests, by code.
func (s *Shapes) countries() []string {
	var out []string
	for c := range s.Lines {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// periodEnding is the period's last day.
func (s *Shapes) periodEnding() string { return s.Period.End().AddDate(0, 0, -1).Format("2006-01-02") }

// lines returns a country's lines in order.
func (s *Shapes) lines(country string) []string {
	var out []string
	for _, l := range lineOrder {
		if s.Lines[country][l] != nil {
			out = append(out, l)
		}
	}
	return out
}

// WriteGoogle writes Google's long format: per country, the All line,
// then one line per legal process; percentage disclosed blank for
// preservation.
func (s *Shapes) WriteGoogle(w io.Writer) error {
	cw := csvsafe.NewWriter(w)
	cw.Write(GoogleHeader)
	for _, c := range s.countries() {
		for _, l := range s.lines(c) {
			t := s.Lines[c][l]
			pct := strconv.FormatInt(t.PercentSome(), 10)
			if l == LinePreservation {
				pct = ""
			}
			cw.Write([]string{s.periodEnding(), cases.CountryName(c), c, l, itoa(t.Requests), pct, itoa(t.Accounts)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteGoogleNationalSecurity writes Google's national-security file for
// one process (nsl or fisa): the bands as numbers; no row while pending.
func (s *Shapes) WriteGoogleNationalSecurity(w io.Writer, process cases.ProcessType) error {
	cw := csvsafe.NewWriter(w)
	cw.Write(GoogleNationalSecurityHeader)
	for _, b := range s.NationalSecurity {
		if b.Process == process {
			cw.Write([]string{s.periodEnding(), itoa(b.RequestsMin), itoa(b.RequestsMax), itoa(b.AccountsMin), itoa(b.AccountsMax)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteMeta writes Meta's wide format: one row per country; the
// per-process columns for the US (MLAT columns for the requesting
// country); national-security columns empty (published only in bands).
func (s *Shapes) WriteMeta(w io.Writer) error {
	cw := csvsafe.NewWriter(w)
	cw.Write(MetaHeader)
	triple := func(t *OutcomeTally, some bool) []string {
		if t == nil {
			t = &OutcomeTally{}
		}
		out := []string{thousands(t.Requests)}
		if some {
			out = append(out, thousands(t.SomeData))
		}
		return append(out, thousands(t.Accounts), fmt.Sprintf("%d%%", t.PercentSome()))
	}
	for _, c := range s.countries() {
		lines, byP := s.Lines[c], s.ByProcess[c]
		legal := &OutcomeTally{}
		for p, t := range byP {
			pt := cases.ProcessType(strings.TrimPrefix(p, "mlat_"))
			if ClassOf(pt) == ClassLegalProcess {
				legal.Requests += t.Requests
				legal.Accounts += t.Accounts
				legal.SomeData += t.SomeData
			}
		}
		pres := lines[LinePreservation]
		if pres == nil {
			pres = &OutcomeTally{}
		}
		row := []string{cases.CountryName(c), thousands(pres.Requests), thousands(pres.Accounts)}
		row = append(row, triple(lines[LineAll], true)...)
		row = append(row, triple(legal, true)...)
		row = append(row, triple(lines[LineEmergency], true)...)
		us := func(p cases.ProcessType) []string {
			if c != "US" {
				return []string{"", "", ""}
			}
			return triple(byP[string(p)], false)
		}
		mlat := func(keys ...string) []string {
			t := &OutcomeTally{}
			for _, k := range keys {
				if x := byP[k]; x != nil {
					t.Requests += x.Requests
					t.Accounts += x.Accounts
					t.SomeData += x.SomeData
				}
			}
			if t.Requests == 0 && c != "US" {
				return []string{"", "", ""}
			}
			return triple(t, false)
		}
		row = append(row, us(cases.SearchWarrant)...)
		row = append(row, us(cases.Subpoena)...)
		row = append(row, us(cases.ForeignCourtOrder)...)
		row = append(row, mlat("mlat_"+string(cases.SearchWarrant))...)
		var others []string
		for k := range byP {
			if strings.HasPrefix(k, "mlat_") && k != "mlat_"+string(cases.SearchWarrant) {
				others = append(others, k)
			}
		}
		sort.Strings(others)
		row = append(row, mlat(others...)...)
		row = append(row, us(cases.CourtOrder2703d)...)
		row = append(row, us(cases.PenRegister)...)
		row = append(row, us(cases.TitleIII)...)
		row = append(row, make([]string, 9)...) // FISA content, FISA non-content, NSLs: bands only
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// hours formats a duration in hours with one decimal, "" for none.
func hours(h *float64) string {
	if h == nil {
		return ""
	}
	return strconv.FormatFloat(*h, 'f', 1, 64)
}

// WriteDSA writes the DSA Article 15 table of orders to provide
// information from Member States: one row per Member State and type of
// process, and a TOTAL row; times in hours.
func (s *Shapes) WriteDSA(w io.Writer) error {
	cw := csvsafe.NewWriter(w)
	cw.Write(DSAHeader)
	period := s.Period.Start().Format("2006-01-02") + "/" + s.Period.End().AddDate(0, 0, -1).Format("2006-01-02")
	total := &OutcomeTally{}
	var rows [][]string
	for _, c := range s.countries() {
		if !cases.IsEUMember(c) {
			continue
		}
		var keys []string
		for k := range s.ByProcess[c] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t := s.ByProcess[c][k]
			total.merge(t)
			pt := cases.ProcessType(strings.TrimPrefix(k, "mlat_"))
			rows = append(rows, s.dsaRow(period, pt.Label(), c, t))
		}
	}
	total.finish()
	cw.Write(s.dsaRow(period, "All types of order", "TOTAL", total))
	for _, r := range rows {
		cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}

func (s *Shapes) dsaRow(period, kind, scope string, t *OutcomeTally) []string {
	return []string{"Article 15(1)(a)", s.Service, period, "Not applicable: orders to provide information (Article 10)", kind, scope,
		"0", "0", "", "", itoa(t.Requests), hours(t.MedianAckHours), hours(t.MedianAnswerHours),
		"", "", "", "", "Orders to provide information about specific users, by the type of legal process.",
		"Hours from receipt to the request being logged (acknowledged).", "Hours from receipt to the first production, refusal or closure."}
}

// merge adds o's counts and samples to t.
func (t *OutcomeTally) merge(o *OutcomeTally) {
	t.Requests += o.Requests
	t.Accounts += o.Accounts
	t.Refused += o.Refused
	t.NoData += o.NoData
	t.SomeData += o.SomeData
	t.Open += o.Open
	t.NDO += o.NDO
	t.ackHours = append(t.ackHours, o.ackHours...)
	t.answerHours = append(t.answerHours, o.answerHours...)
}

// WriteOutcomes writes the outcomes table: per country and line, how
// requests ended (content is never produced: always 0) and the medians
// and 90th percentile of the time to respond.
func (s *Shapes) WriteOutcomes(w io.Writer) error {
	cw := csvsafe.NewWriter(w)
	cw.Write(OutcomesHeader)
	for _, c := range s.countries() {
		for _, l := range s.lines(c) {
			t := s.Lines[c][l]
			cw.Write([]string{s.periodEnding(), cases.CountryName(c), c, l, itoa(t.Requests), itoa(t.Accounts),
				itoa(t.Refused), itoa(t.NoData), itoa(t.SomeData), "0", itoa(t.SomeData), strconv.FormatInt(t.PercentNDO(), 10),
				hours(t.MedianAckHours), hours(t.MedianAnswerHours), hours(t.P90Answer)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// ShapeFormats are the public shapes by format name.
var ShapeFormats = []string{"google", "meta", "dsa", "outcomes"}

// IsShape reports whether format is one of ShapeFormats.
func IsShape(format string) bool {
	for _, f := range ShapeFormats {
		if f == format {
			return true
		}
	}
	return false
}

// CheckShapeTable checks a table for a shape format: Google's
// national-security files are tables nsl and fisa of format google; the
// other shapes have one table.
func CheckShapeTable(format, table string) string {
	switch {
	case table == "":
		return ""
	case format == "google" && (table == string(cases.NSL) || table == string(cases.FISA)):
		return ""
	case format == "google":
		return "format google has the tables nsl and fisa (Google's national-security files)"
	}
	return "format " + format + " has no tables"
}

// Write writes shape format (and table, see CheckShapeTable) to w.
func (s *Shapes) Write(w io.Writer, format, table string) error {
	if msg := CheckShapeTable(format, table); msg != "" {
		return cases.Invalid(map[string]string{"table": msg})
	}
	switch format {
	case "google":
		if table != "" {
			return s.WriteGoogleNationalSecurity(w, cases.ProcessType(table))
		}
		return s.WriteGoogle(w)
	case "meta":
		return s.WriteMeta(w)
	case "dsa":
		return s.WriteDSA(w)
	case "outcomes":
		return s.WriteOutcomes(w)
	}
	return cases.Invalid(map[string]string{"format": "must be one of " + strings.Join(ShapeFormats, ", ")})
}

// ParseBandSize reads a band size, "" meaning the default.
func ParseBandSize(v string) (int64, error) {
	if v == "" {
		return BandSize, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || (n != 500 && n != 1000) {
		return 0, cases.Invalid(map[string]string{"band_size": "must be 500 or 1000 (50 U.S.C. 1874)"})
	}
	return n, nil
}
