// Command envelope runs the portal and the API, and the operators' commands:
// users and tokens, imports, policy checks, reports, exports and audits.
//
// Each command lives in its own file and registers itself in init, so a
// capability brings its own command without touching this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"envelope/cases"
	"envelope/cases/store"
)

// command is one CLI command. name may be two words ("user add").
type command struct {
	name    string
	args    string // the usage line after the name
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// app carries the process's streams and environment, so tests run commands
// in-process with buffers.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	command        string // the command running, for the audit actor
}

// usageError is a mistake in how a command was called: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

// run runs the command named by args and returns the exit status: 0 on
// success, 1 on a failure, 2 on bad usage.
func run(ctx context.Context, args []string, a *app) int {
	cmd, rest := lookup(args)
	if cmd == nil {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			a.usage(a.stdout)
			return 0
		}
		if len(args) > 0 {
			fmt.Fprintf(a.stderr, "envelope: unknown command %q\n", strings.Join(args[:min(len(args), 2)], " "))
		}
		a.usage(a.stderr)
		return 2
	}
	a.command = cmd.name
	err := cmd.run(ctx, a, rest)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		if ue.msg != "" {
			fmt.Fprintf(a.stderr, "envelope %s: %s\n", cmd.name, ue.msg)
		}
		return 2
	}
	fmt.Fprintf(a.stderr, "envelope %s: %s\n", cmd.name, oneLine(err))
	return 1
}

// oneLine renders an error as one clear line. Internal errors are shown in
// full here: the operator running the command is the one who must fix them.
func oneLine(err error) string { return flat(err.Error()) }

// flat keeps a text (an error, a hold's reason) on its line.
func flat(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

func lookup(args []string) (*command, []string) {
	if len(args) >= 2 {
		if c, ok := commands[args[0]+" "+args[1]]; ok {
			return c, args[2:]
		}
	}
	if len(args) >= 1 {
		if c, ok := commands[args[0]]; ok {
			return c, args[1:]
		}
	}
	return nil, nil
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: envelope COMMAND [flags]   (envelope COMMAND --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nenvironment: ENVELOPE_DB (database: a SQLite file or a postgres:// URL), ENVELOPE_ADDR (serve's listen address)")
}

// flags returns a flag set for cmd that reports errors as usage errors.
func (a *app) flags(cmd string) *flag.FlagSet {
	c := commands[cmd]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "usage: envelope %s %s\n\n%s\n\nflags:\n", c.name, c.args, c.summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and refuses stray arguments unless the command takes
// nargs positional ones.
func (a *app) parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{}
	}
	if fs.NArg() != nargs {
		fs.Usage()
		if nargs == 0 {
			return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
		}
		return usageError{fmt.Sprintf("expected %d argument(s), got %d", nargs, fs.NArg())}
	}
	return nil
}

// dbFlag adds --db, defaulting to $ENVELOPE_DB or ./envelope.db.
func (a *app) dbFlag(fs *flag.FlagSet) *string {
	def := a.getenv("ENVELOPE_DB")
	if def == "" {
		def = "envelope.db"
	}
	db := fs.String("db", def, "database: a SQLite file path or a postgres:// URL (env ENVELOPE_DB)")
	// Usage shows the default: never with the password of $ENVELOPE_DB.
	fs.Lookup("db").DefValue = store.Redact(def)
	return db
}

func (a *app) openDB(ctx context.Context, dsn string) (*store.DB, error) {
	return store.Open(ctx, dsn)
}

// withDB opens the database, runs fn on it and closes it.
func (a *app) withDB(ctx context.Context, dsn string, fn func(*store.DB) error) error {
	s, err := a.openDB(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

// required checks that a flag was given.
func required(fs *flag.FlagSet, name, value string) error {
	if strings.TrimSpace(value) == "" {
		fs.Usage()
		return usageError{"--" + name + " is required"}
	}
	return nil
}

// actor is who the audit log records for CLI changes: the command itself,
// "cli:user add". The CLI has no sign-in: whoever runs it holds the
// database's credentials and acts as the operator, and a name taken from
// the environment (USER, SUDO_USER) is whatever the caller set it to, so
// recording it would put an unproven person in the audit log. Changes that
// need a person (logging, approving, verifying cases) are made through the
// portal or the API by a signed-in user (docs/security.md).
func (a *app) actor() string {
	if a.command == "" {
		return "cli:" + cases.System
	}
	return "cli:" + a.command
}
