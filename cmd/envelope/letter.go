package main

import (
	"context"
	"fmt"
	"strings"

	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/exporter"
	"envelope/exporter/letters"
)

func init() {
	register(&command{name: "letter", args: "--kind KIND [--question Q]... [--letters DIR] [--keys DIR] [--packages DIR] [--blobs db|file:///DIR|s3://BUCKET?...] CASE",
		summary: "produce a signed letter for a case (cover, certificate, no_records, preservation, clarification, refusal, user_notice); prints SHA-256 and path", run: letterCmd})
}

// questions collects repeated --question flags.
type questions []string

func (q *questions) String() string     { return strings.Join(*q, "; ") }
func (q *questions) Set(v string) error { *q = append(*q, v); return nil }

func letterCmd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("letter")
	db := a.dbFlag(fs)
	keys := a.keysFlag(fs)
	pkgs, blobs := a.packagesFlag(fs), a.blobsFlag(fs)
	kind := fs.String("kind", "", "the letter: "+kindNames())
	dir := fs.String("letters", a.getenv("ENVELOPE_LETTERS"), "a directory of letter templates overriding the embedded ones (env ENVELOPE_LETTERS)")
	var qs questions
	fs.Var(&qs, "question", "a question of a clarification request (repeatable)")
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	if err := required(fs, "kind", *kind); err != nil {
		return err
	}
	set := letters.Default()
	if *dir != "" {
		var err error
		if set, err = letters.LoadDir(*dir); err != nil {
			return err
		}
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		exp, err := openExporter(ctx, s, metadata.New(s), *keys, *pkgs, *blobs)
		if err != nil {
			return err
		}
		exp.Builder.Letters = set
		l, err := exp.Letter(ctx, a.actor(), fs.Arg(0), letters.Kind(*kind), exporter.LetterOptions{Questions: qs})
		if err != nil {
			return err
		}
		path, err := exp.CopyOut(ctx, l.FileName, "")
		if err != nil {
			return fmt.Errorf("letter %s was produced, but copying it out failed: %w", l.FileName, err)
		}
		fmt.Fprintf(a.stdout, "%s  %s\n", l.SHA256, path)
		return nil
	})
}

func kindNames() string {
	var ks []string
	for _, k := range letters.Kinds {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ", ")
}
