package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/web"
)

func init() {
	register(&command{name: "cases import", args: "[--policy FILE] [--clock FILE] FILE.ndjson",
		summary: "import historical cases from a legacy tracker (one request a line, plus status, produced, closed_at)", run: casesImport})
}

// importBatch is how many cases commit together: large enough that an
// import of a million cases is not bound by fsyncs, small enough to keep
// memory flat.
const importBatch = 1000

// maxImportErrors bounds the errors listed; the count is always complete.
const maxImportErrors = 50

// legacyCase is one line of a legacy tracker's export: an intake request
// plus the state the case reached there.
type legacyCase struct {
	req      *cases.Request
	status   cases.Status
	produced bool
	closedAt *time.Time
}

// parseLegacy splits the tracker's fields from the request and validates
// both, naming the bad field. A date without a time is read in the
// organisation's zone loc, as at intake.
func parseLegacy(line []byte, loc *time.Location) (*legacyCase, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return nil, cases.Invalid(map[string]string{"line": "is not a JSON object"})
	}
	lc := &legacyCase{status: cases.StatusClosed}
	bad := map[string]string{}
	if raw, ok := fields["status"]; ok {
		if err := json.Unmarshal(raw, &lc.status); err != nil || !lc.status.Valid() {
			bad["status"] = fmt.Sprintf("%s is not a status (received, approved, rejected, produced, closed)", raw)
		}
	}
	if raw, ok := fields["produced"]; ok {
		if err := json.Unmarshal(raw, &lc.produced); err != nil {
			bad["produced"] = "must be true or false"
		}
	}
	if raw, ok := fields["closed_at"]; ok && string(raw) != "null" {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			bad["closed_at"] = "must be a date string"
		} else if s != "" {
			t, err := cases.ParseTimeIn(s, loc, cases.StartOfDay)
			if err != nil {
				bad["closed_at"] = err.Error()
			}
			lc.closedAt = &t
		}
	}
	delete(fields, "status")
	delete(fields, "produced")
	delete(fields, "closed_at")
	rest, _ := json.Marshal(fields)
	req, err := cases.ParseRequestIn(rest, loc)
	for k, v := range cases.ErrorFields(err) {
		bad[k] = v
	}
	if len(bad) > 0 {
		return nil, cases.Invalid(bad)
	}
	if err != nil {
		return nil, err
	}
	if req.ReceivedAt.IsZero() {
		return nil, cases.Invalid(map[string]string{"received_at": "is required for historical cases"})
	}
	lc.req = req
	return lc, nil
}

// eachLine calls fn with each non-blank line of path and its number.
func eachLine(path string, fn func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if err := fn(n, sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", path, n+1, err)
	}
	return nil
}

// casesImport validates the whole file before writing anything, so that a
// bad line never leaves half an import behind; then imports in batches, each
// case decided by the policy as of the day it was received.
func casesImport(ctx context.Context, a *app, args []string) error {
	fs := a.flags("cases import")
	db := a.dbFlag(fs)
	file := fs.String("policy", "", "a policy YAML file (default: the embedded default policy)")
	clockFile := fs.String("clock", "", "a clock rules YAML file (default: the rules activated last, else the embedded default)")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	path := fs.Arg(0)
	p, err := loadPolicy(*file)
	if err != nil {
		return err
	}
	var read, bad int
	err = eachLine(path, func(n int, line []byte) error {
		read++
		// The zone changes no verdict on a line, only its instants.
		if _, err := parseLegacy(line, time.UTC); err != nil {
			bad++
			if bad <= maxImportErrors {
				fmt.Fprintf(a.stderr, "%s:%d: %s\n", path, n, oneLine(err))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d line(s) are invalid; nothing was imported", bad, read)
	}
	s, err := a.openDB(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	loc, err := s.OrgZone(ctx)
	if err != nil {
		return err
	}
	clocks, err := loadClocks(*clockFile)
	if err == nil && *clockFile == "" {
		clocks, err = web.ActiveClocks(ctx, s)
	}
	if err != nil {
		return err
	}
	actor := a.actor()
	batch := make([]store.NewCase, 0, importBatch)
	committed := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.CreateCases(ctx, actor, batch); err != nil {
			return err
		}
		committed += len(batch)
		batch = batch[:0]
		return nil
	}
	err = eachLine(path, func(n int, line []byte) error {
		lc, err := parseLegacy(line, loc)
		if err != nil {
			return fmt.Errorf("%s:%d changed while importing: %w", path, n, err)
		}
		// The agency directory, not the file, decides the agency findings,
		// as at intake; the import adds nothing to the directory.
		if err := s.Resolve(ctx, lc.req); err != nil {
			return err
		}
		// A line without a deadline gets the one its clocks compute, as at
		// intake, so lists and reminders see it; one the tracker had stands.
		web.ComputedDue(clocks, lc.req, loc)
		batch = append(batch, store.NewCase{Request: lc.req, Decision: p.Decide(lc.req, lc.req.ReceivedAt),
			Status: lc.status, Produced: lc.produced, ClosedAt: lc.closedAt})
		if len(batch) == importBatch {
			return flush()
		}
		return ctx.Err()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("import stopped after %d case(s) committed: %w", committed, err)
	}
	fmt.Fprintf(a.stdout, "imported %d case(s) from %s\n", committed, path)
	return nil
}
