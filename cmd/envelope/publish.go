package main

import (
	"context"
	"fmt"
	"path/filepath"

	"envelope/cases/store"
	"envelope/exporter/report"
	"envelope/exporter/report/publish"
)

func init() {
	register(&command{name: "report publish", args: "--period 2026-Q3 --out DIR [--at RFC3339] [--band-size 500|1000]",
		summary: "write the public transparency report page (HTML with inline SVG charts, no script) and its CSV downloads into DIR", run: reportPublish})
}

func reportPublish(ctx context.Context, a *app, args []string) error {
	fs := a.flags("report publish")
	db := a.dbFlag(fs)
	period := fs.String("period", "", "the period: YYYY-Qn or YYYY-Hn")
	out := fs.String("out", "", "the directory to write index.html and the CSVs into")
	at := fs.String("at", "", "generation time, RFC 3339 (default: now)")
	band := fs.String("band-size", "", "national-security band size: 500 (default) or 1000")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "period", *period); err != nil {
		return err
	}
	if err := required(fs, "out", *out); err != nil {
		return err
	}
	opts, err := reportFlags(*period, "", "", *at, "", "")
	if err != nil {
		return err
	}
	size, err := report.ParseBandSize(*band)
	if err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		names, err := publish.Write(ctx, s, *out, publish.Options{Period: opts.period, At: opts.at, BandSize: size})
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(a.stdout, filepath.Join(*out, n))
		}
		return nil
	})
}
