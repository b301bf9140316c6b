package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"envelope/cases/auditlog"
	"envelope/cases/store"
)

func init() {
	register(&command{name: "audit verify", args: "[--db DSN] [--checkpoint FILE]... [--witness DIR]... [--audit-key FILE | --keys DIR]",
		summary: "check the audit log (hash chain, Merkle tree) and that it is a consistent extension of each checkpoint given; exit 0 only if intact", run: auditVerify})
	register(&command{name: "audit checkpoint", args: "[--db DSN] [--keys DIR]",
		summary: "print the audit log's current checkpoint, signed by the audit key (a C2SP signed note)", run: auditCheckpoint})
	register(&command{name: "audit key", args: "[--keys DIR]",
		summary: "print the public half of the audit key (a signed-note verifier key), to check checkpoints and package proofs with", run: auditKey})
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint([]string(*l)) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// auditKeyFlag adds --audit-key: the verifier key that checks checkpoints
// (default: the keys folder's).
func auditKeyFlag(fs *flag.FlagSet) *string {
	return fs.String("audit-key", "", "the audit key's public half (the output of envelope audit key); default: the one in the keys folder")
}

// auditVerifier loads the verifier key of --audit-key, else the keys
// folder's; never one found with what is being verified.
func auditVerifier(file, keys string) (note.Verifier, error) {
	if file == "" {
		file = filepath.Join(keys, auditlog.PublicKeyFile)
	}
	v, err := auditlog.ReadVerifier(file)
	if err != nil {
		return nil, fmt.Errorf("the audit key to check with: %w (pass --audit-key FILE)", err)
	}
	return v, nil
}

func auditVerify(ctx context.Context, a *app, args []string) error {
	fs := a.flags("audit verify")
	db := a.dbFlag(fs)
	keys := a.keysFlag(fs)
	auditKey := auditKeyFlag(fs)
	var files, dirs listFlag
	fs.Var(&files, "checkpoint", "a checkpoint FILE the log must extend (repeatable)")
	fs.Var(&dirs, "witness", "a witness folder: the log must extend every checkpoint in it (repeatable)")
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	var cps []auditlog.Signed
	if len(files)+len(dirs) > 0 {
		v, err := auditVerifier(*auditKey, *keys)
		if err != nil {
			return err
		}
		for _, f := range files {
			s, err := auditlog.ReadFile(f, v)
			if err != nil {
				return fmt.Errorf("audit log NOT verified: %w", err)
			}
			cps = append(cps, s)
		}
		for _, d := range dirs {
			s, err := auditlog.ReadDir(d, v)
			if err != nil {
				return fmt.Errorf("audit log NOT verified: %w", err)
			}
			cps = append(cps, s...)
		}
	}
	heads := make([]store.TreeHead, len(cps))
	for i, c := range cps {
		heads[i] = c.Head
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		rep, err := s.VerifyTree(ctx, heads)
		if err != nil {
			return err
		}
		// The first checkpoint that does not hold is the finding that
		// counts in court; the chain and tree details say where.
		for i, cerr := range rep.Checkpoints {
			if cerr != nil {
				fmt.Fprintf(a.stdout, "FAILED checkpoint %s (%d events, root %x): %v\n", cps[i].File, cps[i].Head.Size, cps[i].Head.Root, cerr)
				details(a, rep)
				return fmt.Errorf("audit log NOT intact: it is not a consistent extension of checkpoint %s", cps[i].File)
			}
		}
		if !rep.Intact() {
			details(a, rep)
			return fmt.Errorf("audit log NOT intact after %d events: %w", rep.Events, errors.Join(rep.Chain, rep.Leaves, rep.Recorded))
		}
		for _, c := range cps {
			fmt.Fprintf(a.stdout, "OK checkpoint %s (%d events)\n", c.File, c.Head.Size)
		}
		fmt.Fprintf(a.stdout, "audit log intact: %d events verified, tree root %x\n", rep.Events, rep.Head.Root)
		return nil
	})
}

// details prints what else the verification found.
func details(a *app, rep *store.TreeReport) {
	for _, err := range []error{rep.Chain, rep.Leaves, rep.Recorded} {
		if err != nil {
			fmt.Fprintf(a.stdout, "FAILED %v\n", err)
		}
	}
}

func auditCheckpoint(ctx context.Context, a *app, args []string) error {
	fs := a.flags("audit checkpoint")
	db := a.dbFlag(fs)
	k, err := a.auditKeyOf(fs, args)
	if err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		cp, _, err := auditlog.Checkpoint(ctx, s, k)
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(cp)
		return err
	})
}

func auditKey(ctx context.Context, a *app, args []string) error {
	k, err := a.auditKeyOf(a.flags("audit key"), args)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, k.VerifierKey())
	return err
}

// auditKeyOf adds --keys to fs, parses args and loads (or makes) the
// audit key of the keys folder.
func (a *app) auditKeyOf(fs *flag.FlagSet, args []string) (*auditlog.Key, error) {
	keys := a.keysFlag(fs)
	if err := a.parse(fs, args, 0); err != nil {
		return nil, err
	}
	return auditlog.LoadOrCreateKey(*keys)
}
