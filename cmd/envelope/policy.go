package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"envelope/cases"
	"envelope/policy"
)

func init() {
	register(&command{name: "policy check", args: "[--policy FILE] [--at RFC3339] < request.json",
		summary: "decide one request read on stdin and print the decision", run: policyCheck})
	register(&command{name: "policy replay", args: "--policy NEW.yaml [--from DATE] [--to DATE] [--json]",
		summary: "re-decide stored cases under another policy and print what would change", run: policyReplay})
	register(&command{name: "policy show", args: "[--policy FILE]",
		summary: "print the policy in force (the embedded default, or FILE) and its version", run: policyShow})
}

// loadPolicy returns the policy in FILE, or the embedded default.
func loadPolicy(path string) (*policy.Policy, error) {
	if path == "" {
		return policy.Default(), nil
	}
	return policy.LoadFile(path)
}

func timeFlag(name, value string) (*time.Time, error) {
	if value == "" {
		return nil, nil
	}
	t, err := cases.ParseTime(value)
	if err != nil {
		return nil, cases.Invalid(map[string]string{name: err.Error()})
	}
	return &t, nil
}

func policyCheck(ctx context.Context, a *app, args []string) error {
	fs := a.flags("policy check")
	file := fs.String("policy", "", "a policy YAML file (default: the embedded default policy)")
	atFlag := fs.String("at", "", "decision time, RFC 3339 (default: now)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	p, err := loadPolicy(*file)
	if err != nil {
		return err
	}
	at, err := timeFlag("at", *atFlag)
	if err != nil {
		return err
	}
	if at == nil {
		now := time.Now().UTC()
		at = &now
	}
	body, err := io.ReadAll(io.LimitReader(a.stdin, 16<<20))
	if err != nil {
		return fmt.Errorf("read the request from stdin: %w", err)
	}
	req, err := cases.ParseRequest(body)
	if err != nil {
		return err
	}
	return printJSON(a.stdout, p.Decide(req, *at))
}

func policyReplay(ctx context.Context, a *app, args []string) error {
	fs := a.flags("policy replay")
	db := a.dbFlag(fs)
	file := fs.String("policy", "", "the new policy YAML file to compare against each case's stored decision")
	fromFlag := fs.String("from", "", "only cases received at or after this date")
	toFlag := fs.String("to", "", "only cases received before this date")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "policy", *file); err != nil {
		return err
	}
	p, err := policy.LoadFile(*file)
	if err != nil {
		return err
	}
	from, err := timeFlag("from", *fromFlag)
	if err != nil {
		return err
	}
	to, err := timeFlag("to", *toFlag)
	if err != nil {
		return err
	}
	s, err := a.openDB(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	report, err := policy.Replay(p, func(fn func(*cases.Case) error) error { return s.EachCase(ctx, from, to, fn) })
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(a.stdout, report)
	}
	return printReplay(a.stdout, report)
}

func printReplay(w io.Writer, r *policy.ReplayReport) error {
	fmt.Fprintf(w, "policy %s: %d case(s) re-decided, %d would change\n", r.PolicyVersion, r.Cases, len(r.Changed))
	if len(r.Changed) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tOLD\tNEW\tGAINED\tLOST")
	for _, c := range r.Changed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Number, c.OldOutcome, c.NewOutcome, list(c.Gained), list(c.Lost))
	}
	return tw.Flush()
}

func list(cs []cases.Category) string {
	if len(cs) == 0 {
		return "-"
	}
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ","
		}
		s += string(c)
	}
	return s
}

func policyShow(ctx context.Context, a *app, args []string) error {
	fs := a.flags("policy show")
	file := fs.String("policy", "", "a policy YAML file (default: the embedded default policy)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	p, err := loadPolicy(*file)
	if err != nil {
		return err
	}
	return printSource(a.stdout, p.Version(), p.Source())
}
