package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"envelope/cases"
	"envelope/cases/store"
)

func init() {
	register(&command{name: "agency add", args: "--name N --country CC --domain D [--domain D…] --phone +E164 [--alias A…]",
		summary: "list an agency in the directory, the only source of trust about who is asking; prints its id", run: agencyAdd})
	register(&command{name: "agency list", args: "", summary: "print the agency directory", run: agencyList})
	register(&command{name: "agency suspend", args: "--reason R ID",
		summary: "suspend an agency on the agency portal: none of its officers can sign in, their sessions end", run: agencySuspend(true)})
	register(&command{name: "agency reinstate", args: "--reason R ID",
		summary: "reinstate a suspended agency: each officer gets back what they had", run: agencySuspend(false)})
}

// agencySuspend is `agency suspend` (suspend true) or `agency reinstate`:
// what an admin does in the portal or with POST /api/v1/agencies/:id/
// suspend, for an operator at the console (a compromised police mail
// domain is found at night too). The CLI has database access, so it acts
// as an admin; the audit names the command.
func agencySuspend(suspend bool) func(context.Context, *app, []string) error {
	return func(ctx context.Context, a *app, args []string) error {
		fs := a.flags(a.command)
		db := a.dbFlag(fs)
		reason := fs.String("reason", "", "why, for the audit log and the officers' sign-in refusals")
		if err := a.parse(fs, args, 1); err != nil {
			return err
		}
		if err := required(fs, "reason", *reason); err != nil {
			return err
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || id <= 0 {
			return usageError{"ID: an agency's id, as agency list prints it"}
		}
		return a.withDB(ctx, *db, func(s *store.DB) error {
			_, err := s.SuspendAgency(ctx, &cases.User{Email: a.actor(), Role: cases.RoleAdmin}, id, suspend, *reason)
			if err == nil {
				fmt.Fprintf(a.stdout, "agency %d %s\n", id, map[bool]string{true: "suspended", false: "reinstated"}[suspend])
			}
			return err
		})
	}
}

// repeated is a flag that may be given more than once.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

var _ flag.Value = (*repeated)(nil)

func agencyAdd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("agency add")
	db := a.dbFlag(fs)
	name := fs.String("name", "", "the agency's name")
	country := fs.String("country", "", "ISO 3166-1 alpha-2 country code")
	phone := fs.String("phone", "", "the callback number (E.164), found independently of any request")
	var domains, aliases repeated
	fs.Var(&domains, "domain", "an email domain its officers write from (repeat for more)")
	fs.Var(&aliases, "alias", "another name the agency goes by (repeat for more)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	for _, f := range [][2]string{{"name", *name}, {"country", *country}, {"domain", domains.String()}, {"phone", *phone}} {
		if err := required(fs, f[0], f[1]); err != nil {
			return err
		}
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		e, err := s.CreateAgency(ctx, a.actor(), store.AgencyEntry{
			Agency: cases.Agency{Name: *name, Country: *country, VerifiedDomains: domains},
			Phone:  *phone, Aliases: aliases,
		})
		if err == nil {
			fmt.Fprintln(a.stdout, e.ID)
		}
		return err
	})
}

func agencyList(ctx context.Context, a *app, args []string) error {
	fs := a.flags("agency list")
	db := a.dbFlag(fs)
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		list, err := s.Agencies(ctx)
		if err != nil {
			return err
		}
		suspended, err := s.AgencySuspensions(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tCOUNTRY\tNAME\tDOMAINS\tPHONE\tALIASES\tVERIFIED\tSUSPENDED")
		for _, e := range list {
			verified := e.VerifiedBy
			if e.VerifiedAt != nil {
				verified += " " + e.VerifiedAt.Format("2006-01-02")
			}
			susp := ""
			if sp := suspended[e.ID]; sp != nil {
				susp = sp.At.Format("2006-01-02") + " " + sp.Reason
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Country, flat(e.Name), strings.Join(e.VerifiedDomains, ","),
				e.Phone, flat(strings.Join(e.Aliases, "; ")), flat(verified), flat(susp))
		}
		return w.Flush()
	})
}
