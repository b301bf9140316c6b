package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jung-kurt/gofpdf"

	"envelope/cases"
)

// CountingRules are the normative counting rules, printed as the PDF's
// footnotes and documented in docs/report.md. The summary's figures point to
// them by number.
var CountingRules = []string{
	"A request counts in the period holding its received_at time (UTC). Rows are per requesting (agency) country, sorted by country code.",
	"Legal-process requests: every process type except emergency, preservation, nsl and fisa. Total requests = legal-process + emergency requests.",
	"Accounts requested: the sum over requests of their number of targets.",
	"Some data produced: the case reached produced (for imported history, its produced field). Percent = 100 x produced / requests, two decimals, 0.00 when there were no requests; rejected, withdrawn and no-data requests count as requests with nothing produced.",
	"Preservation requests are counted on their own and not in the total: nothing is disclosed for them.",
	"National-security process (NSLs and FISA, US only) never appears in the country rows. It is reported in its own table, requests and accounts each in bands of 500 (0-499, 500-999, ...), and only for periods that ended at least 180 days before the report is generated; otherwise \"pending\".",
	"Change against the previous period of the same length: (current - previous) / previous, as a whole percentage; n/a when the previous period had none.",
}

// Page geometry, in millimetres (A4 portrait).
const (
	pageW, pageH = 210.0, 297.0
	margin       = 15.0
	contentW     = pageW - 2*margin
	footerSpace  = 15.0
)

// Chart colours.
var (
	barColor   = [3]int{52, 101, 164}
	otherColor = [3]int{150, 150, 150}
	gridColor  = [3]int{210, 210, 210}
)

// maxChartCountries bounds the bars of the country chart; the rest of the
// countries are drawn as one "other" bar, so the chart stays legible.
const maxChartCountries = 20

// WritePDF renders the report as a PDF: a summary page, the charts, the
// country tables, the national-security bands and the counting rules as
// footnotes. The output depends only on the report: its dates are the
// generation time, so the same report gives the same bytes.
func (r *Report) WritePDF(w io.Writer) error {
	f := gofpdf.New("P", "mm", "A4", "")
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, footerSpace)
	f.SetCreationDate(r.GeneratedAt)
	f.SetModificationDate(r.GeneratedAt)
	f.SetCatalogSort(true)
	f.SetTitle("Transparency report "+r.Period.String(), false)
	f.SetCreator("envelope", false)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-10)
		f.SetFont("Helvetica", "", 7)
		f.SetTextColor(110, 110, 110)
		f.CellFormat(0, 4, fmt.Sprintf("Transparency report %s - generated %s - page %d of {nb}",
			r.Period, r.GeneratedAt.Format("2006-01-02 15:04 UTC"), f.PageNo()), "", 0, "C", false, 0, "")
		f.SetTextColor(0, 0, 0)
	})
	p := &pdf{f: f, r: r}
	p.summary()
	p.charts()
	p.countryTables()
	p.nationalSecurity()
	if err := f.Error(); err != nil {
		return fmt.Errorf("render the PDF: %w", err)
	}
	return f.Output(w)
}

type pdf struct {
	f *gofpdf.Fpdf
	r *Report
}

// need starts a new page unless h millimetres are left on this one, so a
// heading is never left alone at the bottom of a page.
func (p *pdf) need(h float64) {
	if p.f.GetY()+h > pageH-footerSpace {
		p.f.AddPage()
	}
}

func (p *pdf) heading(text string) {
	p.f.SetFont("Helvetica", "B", 13)
	p.f.CellFormat(0, 9, text, "", 1, "L", false, 0, "")
}

func (p *pdf) para(size float64, text string) {
	p.f.SetFont("Helvetica", "", size)
	p.f.MultiCell(0, size*0.5, text, "", "L", false)
}

// summary is page one: the key figures, the change against the previous
// period, and the counting rules as footnotes.
func (p *pdf) summary() {
	f, r := p.f, p.r
	f.AddPage()
	f.SetFont("Helvetica", "B", 20)
	f.CellFormat(0, 11, "Transparency report "+r.Period.String(), "", 1, "L", false, 0, "")
	p.para(10, fmt.Sprintf("Government requests received from %s to %s (UTC), by requesting country. Generated %s.",
		r.Period.Start().Format("2006-01-02"), r.Period.End().AddDate(0, 0, -1).Format("2006-01-02"),
		r.GeneratedAt.Format("2006-01-02 15:04 UTC")))
	f.Ln(4)

	p.heading("Summary")
	t := r.Totals
	for _, kv := range [][2]string{
		{"Total requests [1][2]", thousands(t.Total.Requests)},
		{"Accounts requested [3]", thousands(t.Total.Accounts)},
		{"Requests where some data was produced [4]", t.Total.Percent().String() + "%"},
		{"Legal-process requests [2]", thousands(t.LegalProcess.Requests)},
		{"Emergency requests", thousands(t.Emergency.Requests)},
		{"Preservation requests, not in the total [5]", thousands(t.Preservation.Requests)},
		{"Requesting countries", thousands(int64(len(r.Rows)))},
		{"National-security process [6]", p.nsSummary()},
	} {
		f.SetFont("Helvetica", "", 10)
		f.CellFormat(110, 6.5, kv[0], "B", 0, "L", false, 0, "")
		f.SetFont("Helvetica", "B", 10)
		f.CellFormat(contentW-110, 6.5, kv[1], "B", 1, "R", false, 0, "")
	}
	f.Ln(6)

	prev := r.Previous()
	p.heading(fmt.Sprintf("Change against %s [7]", prev.Period))
	widths := []float64{90, 30, 30, 30}
	p.tableRow(widths, []string{"Measure", prev.Period.String(), r.Period.String(), "Change"}, true, false)
	for _, c := range r.Changes() {
		p.tableRow(widths, []string{measureLabel(c.Measure), thousands(c.Previous), thousands(c.Current), c.Change}, false, false)
	}
	pp, cp := prev.Totals.Total.Percent(), t.Total.Percent()
	p.tableRow(widths, []string{"Percent with some data produced", pp.String() + "%", cp.String() + "%", points(cp - pp)}, false, false)
	f.Ln(6)

	p.footnotes()
}

// nsSummary is the national-security line of the summary.
func (p *pdf) nsSummary() string {
	ns := p.r.NationalSecurity
	if ns.Status == Pending {
		return "pending, due " + ns.PublishableAt.Format("2006-01-02")
	}
	return "bands, see table"
}

func (p *pdf) footnotes() {
	f := p.f
	f.SetDrawColor(gridColor[0], gridColor[1], gridColor[2])
	f.Line(margin, f.GetY(), margin+60, f.GetY())
	f.SetDrawColor(0, 0, 0)
	f.Ln(2)
	f.SetFont("Helvetica", "B", 8)
	f.CellFormat(0, 5, "Counting rules", "", 1, "L", false, 0, "")
	for i, rule := range CountingRules {
		f.SetFont("Helvetica", "", 7.5)
		f.CellFormat(7, 3.6, fmt.Sprintf("[%d]", i+1), "", 0, "L", false, 0, "")
		f.MultiCell(0, 3.6, rule, "", "L", false)
		f.Ln(0.8)
	}
}

// charts is page two: requests by country, and the trend.
func (p *pdf) charts() {
	f := p.f
	f.AddPage()
	p.heading("Requests by country, " + p.r.Period.String() + " [1][2]")
	p.countryChart()
	f.Ln(8)
	p.heading(fmt.Sprintf("Trend over the last %d periods [1][2][4]", len(p.r.Trend)))
	p.trendChart()
}

type bar struct {
	label string
	value int64
	other bool
}

// countryBars returns the countries with the most requests, largest first,
// and the rest as one bar.
func (p *pdf) countryBars() []bar {
	rows := slices.Clone(p.r.Rows)
	slices.SortStableFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.Total.Requests, a.Total.Requests), strings.Compare(a.Country, b.Country))
	})
	var bars []bar
	for i, row := range rows {
		if i == maxChartCountries && len(rows) > maxChartCountries+1 {
			rest := Sum(rows[i:])
			bars = append(bars, bar{label: fmt.Sprintf("%d others", len(rows)-i), value: rest.Total.Requests, other: true})
			break
		}
		bars = append(bars, bar{label: row.Country, value: row.Total.Requests})
	}
	return bars
}

// countryChart draws horizontal bars, one per country.
func (p *pdf) countryChart() {
	f := p.f
	bars := p.countryBars()
	if len(bars) == 0 {
		p.para(10, "No requests were received in this period.")
		return
	}
	var top int64 = 1
	for _, b := range bars {
		top = max(top, b.value)
	}
	const labelW, valueW, barH, gap = 22.0, 22.0, 5.0, 1.6
	plotW := contentW - labelW - valueW
	y := f.GetY()
	f.SetFont("Helvetica", "", 8)
	for _, b := range bars {
		c := barColor
		if b.other {
			c = otherColor
		}
		f.SetXY(margin, y)
		f.CellFormat(labelW, barH, b.label, "", 0, "L", false, 0, "")
		w := plotW * float64(b.value) / float64(top)
		f.SetFillColor(c[0], c[1], c[2])
		if w > 0 {
			f.Rect(margin+labelW, y, w, barH, "F")
		}
		f.SetXY(margin+labelW+w+1.5, y)
		f.CellFormat(valueW, barH, thousands(b.value), "", 0, "L", false, 0, "")
		y += barH + gap
	}
	f.SetXY(margin, y)
}

// trendChart draws a column per period with its request total above it and
// the percent with some data produced below its label.
func (p *pdf) trendChart() {
	f := p.f
	trend := p.r.Trend
	if len(trend) == 0 {
		return
	}
	var top int64 = 1
	for _, t := range trend {
		top = max(top, t.Totals.Total.Requests)
	}
	const plotH = 70.0
	x0, y0 := margin, f.GetY()+6
	base := y0 + plotH
	slot := contentW / float64(len(trend))
	f.SetDrawColor(gridColor[0], gridColor[1], gridColor[2])
	f.Line(x0, base, x0+contentW, base)
	f.SetDrawColor(0, 0, 0)
	for i, t := range trend {
		n := t.Totals.Total.Requests
		h := plotH * float64(n) / float64(top)
		x := x0 + float64(i)*slot
		c := barColor
		if i < len(trend)-1 {
			c = otherColor
		}
		f.SetFillColor(c[0], c[1], c[2])
		if h > 0 {
			f.Rect(x+slot*0.2, base-h, slot*0.6, h, "F")
		}
		f.SetFont("Helvetica", "", 7.5)
		f.SetXY(x, base-h-5)
		f.CellFormat(slot, 4, thousands(n), "", 0, "C", false, 0, "")
		f.SetXY(x, base+1)
		f.SetFont("Helvetica", "B", 7.5)
		f.CellFormat(slot, 4, t.Period.String(), "", 0, "C", false, 0, "")
		f.SetXY(x, base+5)
		f.SetFont("Helvetica", "", 7)
		f.CellFormat(slot, 4, t.Totals.Total.Percent().String()+"% data", "", 0, "C", false, 0, "")
	}
	f.SetXY(margin, base+12)
}

// countryTables prints every row: first the totals by class, then the
// requests by legal-process type.
func (p *pdf) countryTables() {
	f, r := p.f, p.r
	f.AddPage()
	p.heading("Requests by country, " + r.Period.String())
	groups := []group{{"", 1}, {"All requests [1][2]", 3}, {"Legal process [2]", 3}, {"Emergency", 3}, {"Preservation [5]", 2}}
	head := []string{"Country", "Requests", "Accounts", "% data", "Requests", "Accounts", "% data",
		"Requests", "Accounts", "% data", "Requests", "Accounts"}
	widths := []float64{18}
	for range head[1:] {
		widths = append(widths, (contentW-18)/float64(len(head)-1))
	}
	cells := func(row Row) []string {
		return []string{row.Country,
			thousands(row.Total.Requests), thousands(row.Total.Accounts), row.Total.Percent().String(),
			thousands(row.LegalProcess.Requests), thousands(row.LegalProcess.Accounts), row.LegalProcess.Percent().String(),
			thousands(row.Emergency.Requests), thousands(row.Emergency.Accounts), row.Emergency.Percent().String(),
			thousands(row.Preservation.Requests), thousands(row.Preservation.Accounts)}
	}
	p.table(widths, groups, head, cells)

	f.Ln(8)
	p.need(30)
	p.heading("Legal-process requests by type, " + r.Period.String() + " [2]")
	head = []string{"Country"}
	for _, t := range LegalProcessTypes {
		head = append(head, processLabel(string(t)))
	}
	widths = []float64{18}
	for range LegalProcessTypes {
		widths = append(widths, (contentW-18)/float64(len(LegalProcessTypes)))
	}
	p.table(widths, nil, head, func(row Row) []string {
		out := []string{row.Country}
		for _, n := range row.ByProcess {
			out = append(out, thousands(n))
		}
		return out
	})
}

// group is a heading over span columns of a table.
type group struct {
	label string
	span  int
}

// table prints a header, a line per country and the totals, repeating the
// header on each new page.
func (p *pdf) table(widths []float64, groups []group, head []string, cells func(Row) []string) {
	f := p.f
	header := func() {
		col := 0
		for _, g := range groups {
			w := 0.0
			for _, cw := range widths[col : col+g.span] {
				w += cw
			}
			col += g.span
			border := ""
			if g.label != "" {
				border = "B"
			}
			f.SetFont("Helvetica", "B", 7)
			f.CellFormat(w, 5, g.label, border, 0, "C", false, 0, "")
		}
		if len(groups) > 0 {
			f.Ln(-1)
		}
		p.tableRow(widths, head, true, true)
	}
	header()
	for _, row := range p.r.Rows {
		if f.GetY()+5 > pageH-footerSpace {
			f.AddPage()
			header()
		}
		p.tableRow(widths, cells(row), false, true)
	}
	totals := p.r.Totals
	totals.Country = "Total"
	p.tableRow(widths, cells(totals), true, true)
}

// tableRow prints one row; the first cell is left-aligned, numbers right.
func (p *pdf) tableRow(widths []float64, cells []string, bold, small bool) {
	f := p.f
	size, h := 9.0, 6.0
	if small {
		size, h = 7.0, 5.0
	}
	style := ""
	if bold {
		style = "B"
	}
	f.SetFont("Helvetica", style, size)
	for i, c := range cells {
		align := "R"
		if i == 0 {
			align = "L"
		}
		ln := 0
		if i == len(cells)-1 {
			ln = 1
		}
		f.CellFormat(widths[i], h, c, "B", ln, align, false, 0, "")
	}
}

// nationalSecurity prints the banded table, or says when it will be due.
func (p *pdf) nationalSecurity() {
	f, ns := p.f, p.r.NationalSecurity
	f.Ln(8)
	p.need(50)
	p.heading(fmt.Sprintf("National-security process (%s), %s [6]", ns.Country, p.r.Period))
	widths := []float64{60, 60, 60}
	p.tableRow(widths, []string{"Process", "Requests", "Accounts"}, true, false)
	for _, b := range ns.Rows {
		p.tableRow(widths, []string{processLabel(string(b.Process)), b.Requests, b.Accounts}, false, false)
	}
	f.Ln(3)
	if ns.Status == Pending {
		p.para(9, fmt.Sprintf("Pending: national-security figures for %s may be published from %s, 180 days after the period ended.",
			p.r.Period, ns.PublishableAt.Format("2006-01-02")))
	} else {
		p.para(9, fmt.Sprintf("Reported in bands of %d, as the law permits.", ns.BandSize))
	}
}

// thousands formats n with comma separators: 1,234,567.
func thousands(n int64) string {
	s := itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// points formats a difference of percentages: "+11.00 pts".
func points(d Percent) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return sign + d.String() + " pts"
}

var measureLabels = map[string]string{
	"total_requests":         "Total requests",
	"total_accounts":         "Accounts requested",
	"legal_process_requests": "Legal-process requests",
	"emergency_requests":     "Emergency requests",
	"preservation_requests":  "Preservation requests",
}

func measureLabel(m string) string {
	if l, ok := measureLabels[m]; ok {
		return l
	}
	return "  " + processLabel(m)
}

// processLabel is the short name of a process type for a narrow column.
func processLabel(t string) string { return cases.ShortLabel(t) }
