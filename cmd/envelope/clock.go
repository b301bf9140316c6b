package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"envelope/cases"
	"envelope/policy/clock"
)

func init() {
	register(&command{name: "clock show", args: "[--clock FILE]",
		summary: "print the clock rules in force (the embedded default, or FILE) and their version", run: clockShow})
	register(&command{name: "clock check", args: "[--clock FILE] [--tz ZONE] < request.json",
		summary: "compute the deadlines of one request read on stdin and print them, each with its rule", run: clockCheck})
	register(&command{name: "clock replay", args: "--clock NEW.yaml [--json]",
		summary: "recompute every stored case's deadlines under other clock rules and print the ones that would move", run: clockReplay})
}

// loadClocks returns the clock rules in FILE, or the embedded default.
func loadClocks(path string) (*clock.Clocks, error) {
	if path == "" {
		return clock.Default(), nil
	}
	return clock.LoadFile(path)
}

func clockShow(ctx context.Context, a *app, args []string) error {
	fs := a.flags("clock show")
	file := fs.String("clock", "", "a clock rules YAML file (default: the embedded default)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := loadClocks(*file)
	if err != nil {
		return err
	}
	return printSource(a.stdout, c.Version(), c.Source())
}

// printSource prints a rules file (policy, clock rules) after its version.
func printSource(w io.Writer, version string, source []byte) error {
	fmt.Fprintf(w, "# version: %s\n", version)
	_, err := w.Write(source)
	return err
}

// printJSON prints v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func clockCheck(ctx context.Context, a *app, args []string) error {
	fs := a.flags("clock check")
	file := fs.String("clock", "", "a clock rules YAML file (default: the embedded default)")
	tz := fs.String("tz", "UTC", "the organisation's time zone (IANA name)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := loadClocks(*file)
	if err != nil {
		return err
	}
	zone, err := cases.LoadZone(*tz)
	if err != nil {
		return cases.Invalid(map[string]string{"tz": err.Error()})
	}
	body, err := io.ReadAll(io.LimitReader(a.stdin, 16<<20))
	if err != nil {
		return fmt.Errorf("read the request from stdin: %w", err)
	}
	req, err := cases.ParseRequestIn(body, zone)
	if err != nil {
		return err
	}
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	in := clock.InputOf(req)
	in.Zone = zone
	ds := c.Compute(in)
	if _, err := clock.TypedDue(ds, req.DueAt, req.DueReason); err != nil {
		return err
	}
	return printJSON(a.stdout, map[string]any{"clock_version": c.Version(), "clocks": ds})
}

func clockReplay(ctx context.Context, a *app, args []string) error {
	fs := a.flags("clock replay")
	db := a.dbFlag(fs)
	file := fs.String("clock", "", "the new clock rules YAML file to compare against the embedded default")
	old := fs.String("old", "", "the clock rules in force, if not the embedded default")
	asJSON := fs.Bool("json", false, "print the moves as JSON")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "clock", *file); err != nil {
		return err
	}
	next, err := clock.LoadFile(*file)
	if err != nil {
		return err
	}
	cur, err := loadClocks(*old)
	if err != nil {
		return err
	}
	s, err := a.openDB(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	zone, err := s.OrgZone(ctx)
	if err != nil {
		return err
	}
	var ids []string
	var inputs []clock.Input
	err = s.EachCase(ctx, nil, nil, func(k *cases.Case) error {
		evs, err := s.Events(ctx, "case", strconv.FormatInt(k.ID, 10))
		if err != nil {
			return err
		}
		in := clock.InputOf(&k.Request)
		in.Events, in.Zone = clock.EventsOf(evs), zone
		ids, inputs = append(ids, k.Number), append(inputs, in)
		return nil
	})
	if err != nil {
		return err
	}
	moves := clock.Replay(cur, next, ids, inputs)
	if *asJSON {
		return printJSON(a.stdout, map[string]any{"clock_version": next.Version(), "cases": len(ids), "moved": moves})
	}
	fmt.Fprintf(a.stdout, "clock rules %s: %d case(s) recomputed, %d deadline(s) would move\n", next.Version(), len(ids), len(moves))
	if len(moves) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tCLOCK\tOLD\tNEW\tOLD RULE\tNEW RULE")
	for _, m := range moves {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Case, m.Clock, stampOrDash(m.Old), stampOrDash(m.New), dash(m.OldRule), dash(m.NewRule))
	}
	return tw.Flush()
}

func stampOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
