package web

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/exporter/report"
)

// The transparency report page: the report of one period as tables and two
// charts drawn on the server as inline SVG (no script, no image requests),
// with the CSV and PDF the API serves, downloaded through the portal
// session.

// reportData is the report page.
type reportData struct {
	Period   string // as asked, for the picker
	Fields   map[string]string
	Choices  []periodChoice
	Report   *report.Report
	Prev     report.PeriodTotals
	Changes  []report.Comparison
	Last     time.Time // the period's last day
	Country  *barChart
	Trend    *barChart
	Download map[string]string
}

func (d reportData) ErrorText() string {
	if len(d.Fields) > 0 {
		return "Choose a period from the list."
	}
	return ""
}

type periodChoice struct {
	Value, Text string
	Selected    bool
}

// lastCompleteQuarter is the quarter before the one now is in.
func lastCompleteQuarter(now time.Time) report.Period {
	now = now.UTC()
	return report.Period{Year: now.Year(), Kind: 'Q', N: (int(now.Month())-1)/3 + 1}.Prev()
}

// periodChoices are the picker's periods: the current quarter and half
// (in progress) and the twelve quarters and six halves before, newest
// first; the selected one is added if it is older.
func periodChoices(now time.Time, selected report.Period) []periodChoice {
	var out []periodChoice
	add := func(p report.Period, inProgress bool) {
		text := p.String()
		if inProgress {
			text += " (in progress)"
		}
		out = append(out, periodChoice{Value: p.String(), Text: text, Selected: p == selected})
	}
	cur := lastCompleteQuarter(now)
	next := report.Period{Year: now.UTC().Year(), Kind: 'Q', N: (int(now.UTC().Month())-1)/3 + 1}
	add(next, true)
	for _, p := range slices.Backward(cur.Last(12)) {
		add(p, false)
	}
	half := report.Period{Year: now.UTC().Year(), Kind: 'H', N: (int(now.UTC().Month())-1)/6 + 1}
	add(half, true)
	for _, p := range slices.Backward(half.Prev().Last(6)) {
		add(p, false)
	}
	if !slices.ContainsFunc(out, func(c periodChoice) bool { return c.Selected }) {
		out = append(out, periodChoice{Value: selected.String(), Text: selected.String(), Selected: true})
	}
	return out
}

func (s *Server) reportPage(c *gin.Context) {
	now := s.Now()
	d := reportData{Period: c.Query("period")}
	p := lastCompleteQuarter(now)
	if d.Period != "" {
		var err error
		if p, err = report.ParsePeriod(d.Period); err != nil {
			d.Fields = cases.ErrorFields(err)
			d.Choices = periodChoices(now, lastCompleteQuarter(now))
			s.render(c, http.StatusBadRequest, "report", "Transparency report", d)
			return
		}
	}
	d.Period = p.String()
	d.Choices = periodChoices(now, p)
	r, err := report.Generate(c.Request.Context(), s.DB, p, now)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	d.Report, d.Prev, d.Changes = r, r.Previous(), r.Changes()
	d.Last = p.End().AddDate(0, 0, -1)
	d.Country = countryChart(r.Rows)
	d.Trend = trendChart(r.Trend)
	base := "/reports/" + p.String() + "/"
	d.Download = map[string]string{"csv": base + "csv", "pdf": base + "pdf", "ns": base + "national-security.csv",
		"google": base + "google.csv", "meta": base + "meta.csv", "dsa": base + "dsa.csv", "outcomes": base + "outcomes.csv"}
	s.render(c, http.StatusOK, "report", "Transparency report "+p.String(), d)
}

// reportDownload serves the report of a period as the API does (the same
// writers), for a signed-in reader.
func (s *Server) reportDownload(c *gin.Context) {
	p, err := report.ParsePeriod(c.Param("period"))
	if err != nil {
		s.portalFail(c, err)
		return
	}
	format := c.Param("format")
	if shape := strings.TrimSuffix(format, ".csv"); report.IsShape(shape) {
		s.portalShape(c, p, shape)
		return
	}
	var write func(*report.Report, *bytes.Buffer) error
	var ctype, name string
	switch format {
	case "csv":
		write, ctype, name = func(r *report.Report, b *bytes.Buffer) error { return r.WriteCSV(b) }, "text/csv; charset=utf-8", ".csv"
	case "pdf":
		write, ctype, name = func(r *report.Report, b *bytes.Buffer) error { return r.WritePDF(b) }, "application/pdf", ".pdf"
	case "national-security.csv":
		write, ctype, name = func(r *report.Report, b *bytes.Buffer) error { return r.WriteNationalSecurityCSV(b) }, "text/csv; charset=utf-8", "-national_security.csv"
	default:
		s.portalError(c, http.StatusNotFound, "There is no such download: choose CSV, PDF or the national-security CSV.")
		return
	}
	r, err := report.Generate(c.Request.Context(), s.DB, p, s.Now())
	if err != nil {
		s.portalFail(c, err)
		return
	}
	var buf bytes.Buffer
	if err := write(r, &buf); err != nil {
		s.portalFail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="transparency-report-`+p.String()+name+`"`)
	c.Data(http.StatusOK, ctype, buf.Bytes())
}

// Charts. The geometry is computed here and drawn by the template, which
// escapes every label like any other text; numbers are preformatted.

// barChart is a bar chart in SVG user units.
type barChart struct {
	Width, Height int
	Title, Desc   string
	Bars          []bar
	Ticks         []tick
	// Plot area, for the axis line.
	X0, Y0, X1, Y1 string
}

type bar struct {
	Label, Value   string
	X, Y, W, H     string
	LX, LY, VX, VY string // label and value positions
	Class          string
}

type tick struct {
	Text           string
	X1, Y1, X2, Y2 string
	TX, TY         string
}

func num(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", f), "0"), ".")
}

// maxCountryBars bounds the country chart; smaller countries share one
// "Other" bar, as in the PDF.
const maxCountryBars = 15

// niceMax rounds a maximum up to a round axis end with at most ten ticks
// of 1, 2 or 5 times a power of ten, and returns the end and the step.
func niceMax(v int64) (int64, int64) {
	if v <= 0 {
		return 4, 1
	}
	for base := int64(1); ; base *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if step := base * m; (v+step-1)/step <= 10 {
				return (v + step - 1) / step * step, step
			}
		}
	}
}

// countryChart draws requests by country as horizontal bars, largest first.
func countryChart(rows []report.Row) *barChart {
	type item struct {
		label string
		n     int64
		other bool
	}
	var items []item
	for _, r := range rows {
		items = append(items, item{label: r.Country, n: r.Total.Requests})
	}
	slices.SortStableFunc(items, func(a, b item) int {
		if a.n != b.n {
			if a.n > b.n {
				return -1
			}
			return 1
		}
		return strings.Compare(a.label, b.label)
	})
	if len(items) > maxCountryBars {
		var rest int64
		for _, it := range items[maxCountryBars-1:] {
			rest += it.n
		}
		n := len(items) - (maxCountryBars - 1)
		items = append(items[:maxCountryBars-1], item{label: fmt.Sprintf("Other (%d)", n), n: rest, other: true})
	}
	const left, right, top, rowH, barH = 90.0, 50.0, 26.0, 26.0, 18.0
	const width = 480.0
	ch := &barChart{Width: int(width), Title: "Requests by country", Desc: "Total requests (legal process and emergency) per requesting country, largest first."}
	var maxN int64
	for _, it := range items {
		maxN = max(maxN, it.n)
	}
	axisMax, step := niceMax(maxN)
	plotW := width - left - right
	height := top + rowH*float64(max(len(items), 1)) + 8
	ch.Height = int(height)
	ch.X0, ch.Y0, ch.X1, ch.Y1 = num(left), num(top-6), num(left), num(height-8)
	for v := int64(0); v <= axisMax; v += step {
		x := left + plotW*float64(v)/float64(axisMax)
		ch.Ticks = append(ch.Ticks, tick{Text: itoa(v), X1: num(x), Y1: num(top - 6), X2: num(x), Y2: num(height - 8), TX: num(x), TY: num(top - 10)})
	}
	for i, it := range items {
		y := top + rowH*float64(i)
		w := plotW * float64(it.n) / float64(axisMax)
		class := "bar"
		if it.other {
			class = "bar other"
		}
		ch.Bars = append(ch.Bars, bar{Label: it.label, Value: itoa(it.n),
			X: num(left), Y: num(y + (rowH-barH)/2), W: num(w), H: num(barH),
			LX: num(left - 8), LY: num(y + rowH/2 + 5), VX: num(left + w + 6), VY: num(y + rowH/2 + 5), Class: class})
	}
	return ch
}

// trendChart draws total requests of the trend's periods as columns, oldest
// first; the report's own period is highlighted.
func trendChart(trend []report.PeriodTotals) *barChart {
	const left, right, top, bottom = 44.0, 8.0, 26.0, 30.0
	const width, height = 520.0, 260.0
	ch := &barChart{Width: int(width), Height: int(height), Title: "Requests over the last eight periods",
		Desc: "Total requests per period, oldest first; the last column is the report's period."}
	var maxN int64
	for _, t := range trend {
		maxN = max(maxN, t.Totals.Total.Requests)
	}
	axisMax, step := niceMax(maxN)
	plotW, plotH := width-left-right, height-top-bottom
	ch.X0, ch.Y0, ch.X1, ch.Y1 = num(left), num(height-bottom), num(width-right), num(height-bottom)
	for v := int64(0); v <= axisMax; v += step {
		y := height - bottom - plotH*float64(v)/float64(axisMax)
		ch.Ticks = append(ch.Ticks, tick{Text: itoa(v), X1: num(left), Y1: num(y), X2: num(width - right), Y2: num(y), TX: num(left - 6), TY: num(y + 4)})
	}
	n := max(len(trend), 1)
	slot := plotW / float64(n)
	barW := slot * 0.6
	for i, t := range trend {
		v := t.Totals.Total.Requests
		h := plotH * float64(v) / float64(axisMax)
		x := left + slot*float64(i) + (slot-barW)/2
		y := height - bottom - h
		class := "bar"
		if i == len(trend)-1 {
			class = "bar current"
		}
		ch.Bars = append(ch.Bars, bar{Label: t.Period.String(), Value: itoa(v),
			X: num(x), Y: num(y), W: num(barW), H: num(h),
			LX: num(x + barW/2), LY: num(height - bottom + 18), VX: num(x + barW/2), VY: num(y - 5), Class: class})
	}
	return ch
}

// measureText names a measure of report.Changes.
func measureText(m string) string {
	switch m {
	case "total_requests":
		return "Total requests"
	case "total_accounts":
		return "Accounts named"
	case "legal_process_requests":
		return "Legal-process requests"
	case "emergency_requests":
		return "Emergency requests"
	case "preservation_requests":
		return "Preservation requests"
	}
	return label(m)
}

// portalShape serves a public shape of the report (format google, meta,
// dsa or outcomes) for a signed-in reader, as the API does.
func (s *Server) portalShape(c *gin.Context, p report.Period, format string) {
	ctx := c.Request.Context()
	org, _, err := s.DB.Org(ctx)
	if err != nil {
		s.portalFail(c, err)
		return
	}
	sh, err := report.GenerateShapes(ctx, s.DB, p, s.Now(), report.ShapeOptions{Service: org.LegalName})
	var buf bytes.Buffer
	if err == nil {
		err = sh.Write(&buf, format, "")
	}
	if err != nil {
		s.portalFail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="transparency-report-`+p.String()+"-"+format+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
