package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
)

func init() {
	register(&command{name: "metadata import", args: "[--batch N] FILE.ndjson",
		summary: "load platform metadata records into the metadata store (FILE - reads stdin)", run: metadataImport})
	register(&command{name: "metadata generate", args: "--accounts N [--seed S] [--out FILE] [--include A,B]",
		summary: "write a realistic, deterministic demo data set of metadata records", run: metadataGenerate})
	register(&command{name: "collect", args: "FILE.ndjson",
		summary: "keep the message events of a file that involve active collection targets", run: collectFile})
	register(&command{name: "preservation purge", args: "[--at RFC3339]",
		summary: "delete the frozen copies of expired preservation holds (the scheduled job)", run: preservationPurge})
	register(&command{name: "preservation extend", args: "--as EMAIL CASE",
		summary: "give a preservation hold its one 90-day extension", run: preservationExtend})
}

// maxLineErrors bounds the rejected lines listed on stderr; the count in
// the summary is always complete.
const maxLineErrors = 100

// openInput opens a named file, or stdin for "-", and its size if known.
func (a *app) openInput(path string) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(a.stdin), 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// lineErrors prints rejected lines as FILE:LINE: message, up to
// maxLineErrors, clearing the progress bar first so the two never mix.
type lineErrors struct {
	a     *app
	path  string
	bar   *progressBar
	shown int
	more  int
}

func (l *lineErrors) report(e *metadata.LineError) {
	if l.shown == maxLineErrors {
		l.more++
		return
	}
	l.shown++
	l.bar.clear()
	fmt.Fprintf(l.a.stderr, "%s:%d: %s\n", l.path, e.Line, oneLine(e.Err))
}

func (l *lineErrors) finish() {
	if l.more > 0 {
		fmt.Fprintf(l.a.stderr, "%s: %d more rejected line(s) not listed\n", l.path, l.more)
	}
}

func metadataImport(ctx context.Context, a *app, args []string) error {
	fs := a.flags("metadata import")
	db := a.dbFlag(fs)
	batch := fs.Int("batch", 5000, "records written per transaction")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	if *batch < 1 {
		return usageError{"--batch must be at least 1"}
	}
	path := fs.Arg(0)
	in, size, err := a.openInput(path)
	if err != nil {
		return err
	}
	defer in.Close()
	return a.withDB(ctx, *db, func(s *store.DB) error {
		bar := newProgressBar(a.stderr, size)
		errs := &lineErrors{a: a, path: path, bar: bar}
		sum, err := metadata.New(s).Import(ctx, in, metadata.ImportOptions{BatchSize: *batch, OnError: errs.report, OnProgress: bar.update})
		bar.clear()
		errs.finish()
		fmt.Fprintf(a.stdout, "read %d, stored %d, rejected %d\n", sum.Read, sum.Stored, sum.Rejected)
		if err != nil {
			return fmt.Errorf("import stopped: %w", err)
		}
		if sum.Rejected > 0 {
			return fmt.Errorf("%d line(s) rejected (listed above); the other %d were stored", sum.Rejected, sum.Stored)
		}
		return nil
	})
}

func metadataGenerate(ctx context.Context, a *app, args []string) error {
	fs := a.flags("metadata generate")
	accounts := fs.Int("accounts", 0, "how many accounts (subscribers) to generate")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same data")
	out := fs.String("out", "", "write to this file instead of stdout")
	end := fs.String("end", metadata.DefaultGenerateEnd.Format(time.RFC3339), "when the generated history ends")
	include := fs.String("include", "", "comma-separated accounts that must be among those generated (e.g. demo targets)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if *accounts < 1 {
		fs.Usage()
		return usageError{"--accounts must be at least 1"}
	}
	endAt, err := cases.ParseTime(*end)
	if err != nil {
		return usageError{"--end: " + err.Error()}
	}
	w := a.stdout
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	var incl []string
	for _, acct := range strings.Split(*include, ",") {
		if acct = strings.TrimSpace(acct); acct != "" {
			incl = append(incl, acct)
		}
	}
	stats, err := metadata.Generate(bw, metadata.GenerateOptions{Accounts: *accounts, Seed: *seed, End: endAt, Include: incl})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && f != nil {
		err = f.Close()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "generated %d records for %d accounts\n", stats.Lines, *accounts)
	return nil
}

func collectFile(ctx context.Context, a *app, args []string) error {
	fs := a.flags("collect")
	db := a.dbFlag(fs)
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	path := fs.Arg(0)
	in, _, err := a.openInput(path)
	if err != nil {
		return err
	}
	defer in.Close()
	return a.withDB(ctx, *db, func(s *store.DB) error {
		errs := &lineErrors{a: a, path: path, bar: newProgressBar(io.Discard, 0)}
		res, err := metadata.New(s).Collect(ctx, in, metadata.CollectOptions{OnError: errs.report})
		errs.finish()
		if err != nil {
			return err
		}
		b, _ := json.Marshal(res)
		fmt.Fprintln(a.stdout, string(b))
		return nil
	})
}

func preservationPurge(ctx context.Context, a *app, args []string) error {
	fs := a.flags("preservation purge")
	db := a.dbFlag(fs)
	at := fs.String("at", "", "purge the holds expired at this time (default now)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		now, err := purgeTime(s, *at)
		if err != nil {
			return err
		}
		n, err := metadata.New(s).Purge(ctx, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "purged %d expired preservation hold(s)\n", n)
		return nil
	})
}

// preservationExtend acts as a named user, so that the audit log records a
// person whose role allows the extension, not just a login name.
func preservationExtend(ctx context.Context, a *app, args []string) error {
	fs := a.flags("preservation extend")
	db := a.dbFlag(fs)
	as := fs.String("as", "", "the email of the user granting the extension (intake, reviewer, supervisor or admin)")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	if err := required(fs, "as", *as); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		u, err := s.UserByEmail(ctx, *as)
		if err != nil {
			return err
		}
		c, err := s.Case(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		p, err := metadata.New(s).Extend(ctx, u, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "case %s: preserved until %s\n", c.Number, p.PreserveUntil.Format(time.RFC3339))
		return nil
	})
}

// progressBar draws an import's progress on a terminal, and nothing
// anywhere else: a bar in a log file or a pipe is only noise.
type progressBar struct {
	w     io.Writer
	total int64
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, total int64) *progressBar {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		w = nil
	}
	return &progressBar{w: w, total: total}
}

// isTerminal reports whether f is a character device (a terminal), without
// a terminal library.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

const barWidth = 30

func (p *progressBar) update(done int64) {
	if p.w == nil || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn = time.Now(), true
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%.1f MB read", float64(done)/1e6)
		return
	}
	frac := min(float64(done)/float64(p.total), 1)
	n := int(frac * barWidth)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %.1f / %.1f MB", strings.Repeat("#", n), strings.Repeat(".", barWidth-n),
		frac*100, float64(done)/1e6, float64(p.total)/1e6)
}

// clear erases the bar, so that the next line starts clean.
func (p *progressBar) clear() {
	if p.w != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
