package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"envelope/cases/store"
	"envelope/exporter/csvsafe"
	"envelope/exporter/report"
)

func init() {
	register(&command{name: "report",
		args:    "--period 2026-Q3 [--format csv|json|pdf|google|meta|dsa|outcomes] [--band-size 500|1000] [--out FILE] [--at RFC3339] [--table national_security|nsl|fisa] [--explain COUNTRY]",
		summary: "print the transparency report of a quarter (2026-Q3) or half year (2026-H2)", run: reportCmd})
}

// reportOptions are the report command's flags, checked.
type reportOptions struct {
	period  report.Period
	format  string // csv, json, pdf; "" means csv, or a table for --explain
	out     string
	at      time.Time
	table   string // "" or national_security
	explain string // a country code
	band    int64  // the national-security band size of the public shapes
}

func reportCmd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("report")
	db := a.dbFlag(fs)
	period := fs.String("period", "", "the period: YYYY-Qn for a quarter, YYYY-Hn for a half year (UTC)")
	format := fs.String("format", "", "csv (default), json, pdf, or a public shape: google, meta, dsa, outcomes")
	band := fs.String("band-size", "", "national-security band size of the public shapes: 500 (default) or 1000")
	out := fs.String("out", "", "write to FILE instead of standard output")
	at := fs.String("at", "", "generation time, RFC 3339 (default: now); national-security bands appear only 180 days after the period")
	table := fs.String("table", "", "national_security: only the national-security table (csv or json)")
	explain := fs.String("explain", "", "list the cases behind COUNTRY's row instead (a table, or --format csv|json)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "period", *period); err != nil {
		return err
	}
	opts, err := reportFlags(*period, *format, *out, *at, *table, *explain)
	if err != nil {
		return err
	}
	if opts.band, err = report.ParseBandSize(*band); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(db *store.DB) error {
		var buf bytes.Buffer
		if err := writeReport(ctx, db, opts, &buf); err != nil {
			return err
		}
		if opts.out == "" {
			_, err := a.stdout.Write(buf.Bytes())
			return err
		}
		return writeFileAtomic(opts.out, buf.Bytes())
	})
}

// reportFlags checks the flags' values. A bad period or time is invalid
// input (exit 1, naming it); a format or table that does not exist, or one
// that does not go with the others, is bad usage (exit 2).
func reportFlags(period, format, out, at, table, explain string) (reportOptions, error) {
	o := reportOptions{format: strings.ToLower(format), out: out, table: table, explain: explain}
	switch {
	case o.format == "", o.format == "csv", o.format == "json", o.format == "pdf":
	case report.IsShape(o.format):
		if msg := report.CheckShapeTable(o.format, table); msg != "" {
			return o, usageError{"--table: " + msg}
		}
		if explain != "" {
			return o, usageError{"--explain lists cases: use it with --format csv or json"}
		}
	default:
		return o, usageError{fmt.Sprintf("--format %q: use csv, json, pdf, google, meta, dsa or outcomes", format)}
	}
	switch {
	case report.IsShape(o.format):
	case o.table != "" && o.table != "national_security":
		return o, usageError{fmt.Sprintf("--table %q: the only table is national_security", table)}
	case o.table != "" && o.format == "pdf":
		return o, usageError{"--table goes with --format csv or json: the PDF always holds every table"}
	case o.explain != "" && (o.format == "pdf" || o.table != ""):
		return o, usageError{"--explain lists cases: use it with --format csv or json, or neither, and without --table"}
	}
	var err error
	if o.period, err = report.ParsePeriod(period); err != nil {
		return o, err
	}
	o.at = time.Now().UTC()
	if t, err := timeFlag("at", at); err != nil {
		return o, err
	} else if t != nil {
		o.at = *t
	}
	return o, nil
}

// writeReport renders what the options ask for into w.
func writeReport(ctx context.Context, db *store.DB, o reportOptions, w io.Writer) error {
	if o.explain != "" {
		list, err := report.Explain(ctx, db, o.period, o.explain)
		if err != nil {
			return err
		}
		return writeExplain(w, o, list)
	}
	if report.IsShape(o.format) {
		org, _, err := db.Org(ctx)
		if err != nil {
			return err
		}
		s, err := report.GenerateShapes(ctx, db, o.period, o.at, report.ShapeOptions{BandSize: o.band, Service: org.LegalName})
		if err != nil {
			return err
		}
		return s.Write(w, o.format, o.table)
	}
	r, err := report.Generate(ctx, db, o.period, o.at)
	if err != nil {
		return err
	}
	switch {
	case o.format == "pdf":
		return r.WritePDF(w)
	case o.format == "json" && o.table != "":
		return r.WriteNationalSecurityJSON(w)
	case o.format == "json":
		return r.WriteJSON(w)
	case o.table != "":
		return r.WriteNationalSecurityCSV(w)
	}
	return r.WriteCSV(w)
}

// writeExplain lists the cases behind a row, and what they add up to, so
// the listing can be checked against the report line by line.
func writeExplain(w io.Writer, o reportOptions, list []report.ExplainedCase) error {
	country := strings.ToUpper(strings.TrimSpace(o.explain))
	switch o.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Period  report.Period          `json:"period"`
			Country string                 `json:"country"`
			Row     report.Row             `json:"row"`
			Cases   []report.ExplainedCase `json:"cases"`
		}{o.period, country, report.ExplainRow(country, list), nonNilCases(list)})
	case "csv":
		cw := csvsafe.NewWriter(w)
		cw.Write([]string{"number", "process_type", "received_at", "targets", "produced", "status", "counted_in"})
		for _, c := range list {
			cw.Write([]string{c.Number, string(c.ProcessType), c.ReceivedAt.Format(time.RFC3339Nano),
				strconv.FormatInt(c.Targets, 10), strconv.FormatBool(c.Produced), string(c.Status), string(c.CountedIn)})
		}
		cw.Flush()
		return cw.Error()
	}
	row := report.ExplainRow(country, list)
	fmt.Fprintf(w, "Cases behind %s in %s (national-security process is never listed):\n", country, o.period)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tPROCESS\tRECEIVED_AT\tTARGETS\tPRODUCED\tSTATUS\tCOUNTED_IN")
	for _, c := range list {
		produced := "no"
		if c.Produced {
			produced = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", c.Number, c.ProcessType, c.ReceivedAt.Format(time.RFC3339Nano),
			c.Targets, produced, c.Status, c.CountedIn)
	}
	tw.Flush()
	_, err := fmt.Fprintf(w, "%d cases: total_requests %d, total_accounts %d, percent_some_data %s, legal_process_requests %d, emergency_requests %d, preservation_requests %d\n",
		len(list), row.Total.Requests, row.Total.Accounts, row.Total.Percent(), row.LegalProcess.Requests,
		row.Emergency.Requests, row.Preservation.Requests)
	return err
}

func nonNilCases(list []report.ExplainedCase) []report.ExplainedCase {
	if list == nil {
		return []report.ExplainedCase{}
	}
	return list
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder, so a failed run never leaves half a report where a whole one was.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
