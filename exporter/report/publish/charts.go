package publish

import (
	"fmt"
	"html/template"
	"strings"

	"envelope/cases"
	"envelope/exporter/report"
)

// Chart is an inline SVG chart: a title and description for assistive
// technology (the table after it holds the same figures), and its markup.
type Chart struct {
	ID, Title, Desc string
	SVG             template.HTML
}

// Colours with enough contrast on white (WCAG AA for graphics, 3:1).
const (
	colSome    = "#1f5f8b"
	colNoData  = "#8a6d00"
	colRefused = "#a23b3b"
	colOpen    = "#6b6b6b"
	colTotal   = "#9cc3dd"
)

type segment struct {
	value int64
	color string
	label string
}

// hbars draws one horizontal bar per row, each of stacked segments, with
// the row's label on the left and its total on the right.
func hbars(id, title, desc string, labels []string, rows [][]segment, legend []segment) *Chart {
	const left, barH, gap, width = 150.0, 18.0, 8.0, 640.0
	var maxV int64 = 1
	for _, r := range rows {
		var t int64
		for _, s := range r {
			t += s.value
		}
		maxV = max(maxV, t)
	}
	plot := width - left - 60
	top := 30.0
	h := top + float64(len(rows))*(barH+gap) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-labelledby="%s-t %s-d">`, width, h, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	x := left
	for _, l := range legend {
		fmt.Fprintf(&b, `<rect x="%.0f" y="6" width="12" height="12" fill="%s"/><text x="%.0f" y="16" font-size="12">%s</text>`, x, l.color, x+16, esc(l.label))
		x += 24 + 7*float64(len(l.label))
	}
	for i, r := range rows {
		y := top + float64(i)*(barH+gap)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" text-anchor="end">%s</text>`, left-8, y+barH*0.7, esc(labels[i]))
		x := left
		var t int64
		for _, s := range r {
			w := plot * float64(s.value) / float64(maxV)
			if w > 0 {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s: %d</title></rect>`, x, y, w, barH, s.color, esc(s.label), s.value)
			}
			x += w
			t += s.value
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12">%d</text>`, x+6, y+barH*0.7, t)
	}
	b.WriteString(`</svg>`)
	return &Chart{ID: id, Title: title, Desc: desc, SVG: template.HTML(b.String())}
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// countriesChart shows each country's requests, the part with some data
// produced darker.
func countriesChart(r *report.Report) *Chart {
	var labels []string
	var rows [][]segment
	for _, row := range r.Rows {
		labels = append(labels, cases.CountryName(row.Country))
		rows = append(rows, []segment{{row.Total.Produced, colSome, "Some data produced"},
			{row.Total.Requests - row.Total.Produced, colTotal, "No data produced"}})
	}
	return hbars("countries", "Requests by country",
		"Horizontal bars, one per requesting country: total requests, the darker part those with some data produced. The table below lists the figures.",
		labels, rows, []segment{{0, colSome, "Some data produced"}, {0, colTotal, "No data produced"}})
}

// outcomesChart shows how each country's requests ended.
func outcomesChart(rows []outcomeRow) *Chart {
	var labels []string
	var segs [][]segment
	for _, o := range rows {
		labels = append(labels, cases.CountryName(o.Country))
		segs = append(segs, []segment{{o.T.SomeData, colSome, "Some data"}, {o.T.NoData, colNoData, "No data found"},
			{o.T.Refused, colRefused, "Rejected or challenged"}, {o.T.Open, colOpen, "Open"}})
	}
	return hbars("outcomes", "How requests ended, by country",
		"Stacked horizontal bars, one per country: requests with some data produced, with no data found, rejected or challenged, and still open. The table below lists the figures.",
		labels, segs, []segment{{0, colSome, "Some data"}, {0, colNoData, "No data found"}, {0, colRefused, "Rejected or challenged"}, {0, colOpen, "Open"}})
}

// trendChart shows the total requests of the last periods.
func trendChart(r *report.Report) *Chart {
	var labels []string
	var rows [][]segment
	for _, t := range r.Trend {
		labels = append(labels, t.Period.String())
		rows = append(rows, []segment{{t.Totals.Total.Requests, colSome, "Requests"}})
	}
	return hbars("trend", "Requests over the last periods",
		"Horizontal bars, one per period, oldest first: the total requests of each. The table below lists the figures.",
		labels, rows, nil)
}
