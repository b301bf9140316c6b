// Package publish writes the transparency report as a static web page
// ready to host: one accessible HTML file with its charts as inline SVG
// (no script, no build step), each chart followed by the table of its
// figures, and the CSV downloads in every public shape beside it.
package publish

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/exporter/report"
)

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"country": cases.CountryName,
	"pct": func(part, whole int64) string {
		if whole == 0 {
			return "0%"
		}
		return fmt.Sprintf("%d%%", (part*200+whole)/(2*whole))
	},
	"hours": func(h *float64) string {
		if h == nil {
			return "–"
		}
		return fmt.Sprintf("%.1f", *h)
	},
}).Parse(pageHTML))

// Download is one file offered on the page.
type Download struct {
	File, Title, About string
}

// Options say what to publish.
type Options struct {
	Period   report.Period
	At       time.Time // generation time: national-security figures only after 180 days
	BandSize int64
}

// data is the page's template data.
type data struct {
	Org          *cases.Org
	Period       report.Period
	From, To     string
	GeneratedAt  string
	Report       *report.Report
	Outcomes     []outcomeRow
	Totals       report.OutcomeTally
	Countries    *Chart
	OutcomeChart *Chart
	TrendChart   *Chart
	Downloads    []Download
	NS           []report.NumericBands
	NSPending    bool
	BandSize     int64
}

type outcomeRow struct {
	Country string
	T       *report.OutcomeTally
}

// Write publishes period's report into dir: index.html and the CSVs. The
// files are written whole or not at all (each to a temporary name, then
// renamed).
func Write(ctx context.Context, db *store.DB, dir string, opt Options) ([]string, error) {
	r, err := report.Generate(ctx, db, opt.Period, opt.At)
	if err != nil {
		return nil, err
	}
	org, _, err := db.Org(ctx)
	if err != nil {
		return nil, err
	}
	s, err := report.GenerateShapes(ctx, db, opt.Period, opt.At, report.ShapeOptions{BandSize: opt.BandSize, Service: org.LegalName})
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var downloads []Download
	add := func(name, title, about string, write func(*bytes.Buffer) error) error {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			return err
		}
		files[name] = b.Bytes()
		downloads = append(downloads, Download{File: name, Title: title, About: about})
		return nil
	}
	p := opt.Period.String()
	for _, d := range []struct {
		name, title, about string
		write              func(*bytes.Buffer) error
	}{
		{p + "-google.csv", "Google format (long)", "One row per country and legal process, in the columns of Google's user data requests report.", func(b *bytes.Buffer) error { return s.WriteGoogle(b) }},
		{p + "-meta.csv", "Meta format (wide)", "One row per country, in the columns of Meta's government requests report.", func(b *bytes.Buffer) error { return s.WriteMeta(b) }},
		{p + "-dsa.csv", "EU Digital Services Act, Article 15", "Orders to provide information from EU Member States, with median times.", func(b *bytes.Buffer) error { return s.WriteDSA(b) }},
		{p + "-outcomes.csv", "Outcomes and response times", "Rejected or challenged, no data, some data, nondisclosure orders, medians and 90th percentiles.", func(b *bytes.Buffer) error { return s.WriteOutcomes(b) }},
		{p + "-national-security-nsl.csv", "National security letters (bands)", "Published 180 days after the period, in bands.", func(b *bytes.Buffer) error { return s.WriteGoogleNationalSecurity(b, cases.NSL) }},
		{p + "-national-security-fisa.csv", "FISA orders (bands)", "Published 180 days after the period, in bands.", func(b *bytes.Buffer) error { return s.WriteGoogleNationalSecurity(b, cases.FISA) }},
		{p + ".csv", "Summary (CSV)", "One row per country: requests, accounts and the share with some data, by legal process.", func(b *bytes.Buffer) error { return r.WriteCSV(b) }},
		{p + ".json", "JSON", "Every figure, the previous period compared and the trend.", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
	} {
		if err := add(d.name, d.title, d.about, d.write); err != nil {
			return nil, err
		}
	}
	d := &data{Org: org, Period: opt.Period, From: opt.Period.Start().Format("2 January 2006"),
		To: opt.Period.End().AddDate(0, 0, -1).Format("2 January 2006"), GeneratedAt: opt.At.UTC().Format("2 January 2006"),
		Report: r, Downloads: downloads, NS: s.NationalSecurity, NSPending: s.NationalSecurity == nil, BandSize: s.BandSize}
	var codes []string
	for c := range s.Lines {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		if t := s.Lines[c][report.LineAll]; t != nil {
			d.Outcomes = append(d.Outcomes, outcomeRow{Country: c, T: t})
			d.Totals.Requests += t.Requests
			d.Totals.Refused += t.Refused
			d.Totals.NoData += t.NoData
			d.Totals.SomeData += t.SomeData
			d.Totals.Open += t.Open
			d.Totals.NDO += t.NDO
		}
	}
	d.Countries = countriesChart(r)
	d.OutcomeChart = outcomesChart(d.Outcomes)
	d.TrendChart = trendChart(r)
	var html bytes.Buffer
	if err := page.Execute(&html, d); err != nil {
		return nil, fmt.Errorf("render the page: %w", err)
	}
	files["index.html"] = html.Bytes()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeFile(filepath.Join(dir, name), files[name]); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
