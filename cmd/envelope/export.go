package main

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"envelope/cases/blob"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/exporter"
)

func init() {
	register(&command{name: "export", args: "[--db DSN] [--keys DIR] [--packages DIR] [--blobs db|file:///DIR|s3://BUCKET?...] [--out FILE] CASE | --due",
		summary: "build the next disclosure package of an approved case (--due: of every prospective order with new pairs); prints SHA-256 and path", run: exportCase})
	register(&command{name: "verify", args: "[--key PEM | --fingerprint HEX] [--keys DIR] [--audit-key FILE] PACKAGE.zip",
		summary: "check a disclosure package's hashes, signature and audit proofs; exit 0 only if intact", run: verifyPackage})
	register(&command{name: "signing-key", args: "[--keys DIR]",
		summary: "print the public key disclosure packages are signed with (PEM)", run: signingKey})
}

// keysFlag adds --keys, defaulting to $ENVELOPE_KEYS or ./envelope-keys.
func (a *app) keysFlag(fs *flag.FlagSet) *string {
	return fs.String("keys", a.envOr("ENVELOPE_KEYS", exporter.DefaultKeyDir),
		"directory of the package signing key and the audit key, outside the database (env ENVELOPE_KEYS)")
}

// packagesFlag adds --packages, defaulting to $ENVELOPE_PACKAGES or
// ./envelope-packages.
func (a *app) packagesFlag(fs *flag.FlagSet) *string {
	return fs.String("packages", a.envOr("ENVELOPE_PACKAGES", exporter.DefaultPackageDir),
		"directory disclosure packages are stored in (env ENVELOPE_PACKAGES)")
}

// blobsFlag adds --blobs, defaulting to $ENVELOPE_BLOBS or db.
func (a *app) blobsFlag(fs *flag.FlagSet) *string {
	return fs.String("blobs", a.envOr("ENVELOPE_BLOBS", "db"),
		"where packages, letters and case documents are stored, reached by every instance: db (in the database), file:///path (a folder every instance mounts) "+
			"or s3://BUCKET?endpoint=URL&region=REGION (an S3-compatible bucket; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) (env ENVELOPE_BLOBS)")
}

// openBlobs opens the store a --blobs setting names: a setting that names
// none is bad usage (exit 2), a store that cannot be reached a failure.
// s keeps case documents there too (store.DB.SetFiles), as it does
// packages.
func openBlobs(ctx context.Context, setting string, s *store.DB) (blob.Store, error) {
	b, err := blob.Open(ctx, setting, s)
	var bad *blob.SettingError
	if errors.As(err, &bad) {
		return nil, usageError{"--blobs: " + err.Error()}
	} else if err != nil {
		return nil, fmt.Errorf("--blobs: %w", err)
	}
	s.SetFiles(b)
	return b, nil
}

// openExporter returns the exporter of s, storing packages where blobs
// says.
func openExporter(ctx context.Context, s *store.DB, md *metadata.Store, keys, pkgs, blobs string) (*exporter.Exporter, error) {
	b, err := openBlobs(ctx, blobs, s)
	if err != nil {
		return nil, err
	}
	return exporter.NewIn(s, md, keys, pkgs, b)
}

func (a *app) envOr(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return def
}

func exportCase(ctx context.Context, a *app, args []string) error {
	fs := a.flags("export")
	db := a.dbFlag(fs)
	keys := a.keysFlag(fs)
	pkgs, blobs := a.packagesFlag(fs), a.blobsFlag(fs)
	out := fs.String("out", "", "also copy the package to FILE")
	due := fs.Bool("due", false, "instead of one CASE, run one scheduled pass: produce again every prospective order with pairs collected since its last package (what serve --produce-every does)")
	// A first, silent parse tells whether --due was given, and so how
	// many arguments to expect; a.parse then parses again and reports.
	w, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Parse(args)
	fs.SetOutput(w)
	fs.Usage = usage
	nargs := 1
	if *due {
		nargs = 0
	}
	if err := a.parse(fs, args, nargs); err != nil {
		return err
	}
	if *due && *out != "" {
		return usageError{"--out copies one package: it cannot be used with --due"}
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		exp, err := openExporter(ctx, s, metadata.New(s), *keys, *pkgs, *blobs)
		if err != nil {
			return err
		}
		if *due {
			// Every package produced is printed, even if another case
			// failed; the failures are the error (exit 1).
			produced, err := exp.ProduceDue(ctx, a.actor())
			var errs []error
			for _, pkg := range produced {
				path, cerr := exp.CopyOut(ctx, pkg.FileName, "")
				if cerr != nil {
					errs = append(errs, fmt.Errorf("package %s was produced, but copying it out failed: %w", pkg.FileName, cerr))
				}
				fmt.Fprintf(a.stdout, "%s  %s\n", pkg.SHA256, path)
			}
			return errors.Join(append(errs, err)...)
		}
		pkg, err := exp.Export(ctx, a.actor(), fs.Arg(0))
		if err != nil {
			return err
		}
		// The package is stored (--blobs); the operator gets a copy.
		path, err := exp.CopyOut(ctx, pkg.FileName, *out)
		if err != nil {
			return fmt.Errorf("package %s was produced, but copying it to %s failed: %w", pkg.FileName, path, err)
		}
		// sha256sum's format, so the line itself can be checked.
		fmt.Fprintf(a.stdout, "%s  %s\n", pkg.SHA256, path)
		return nil
	})
}

func verifyPackage(ctx context.Context, a *app, args []string) error {
	fs := a.flags("verify")
	keyFile := fs.String("key", "", "the signer's public key (PEM), as served by the platform")
	fingerprint := fs.String("fingerprint", "", "the signer's key fingerprint (hex SHA-256, as printed in the PDF): the key of the keys folder (current or retired) with it")
	keys := a.keysFlag(fs)
	auditKey := auditKeyFlag(fs)
	// The spec writes the package first: envelope verify PACKAGE.zip --key FILE.
	pos, err := a.parseInterspersed(fs, args, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	if *keyFile != "" && *fingerprint != "" {
		return usageError{"give --key or --fingerprint, not both"}
	}
	// The default keys folder is relative to where verify runs: run
	// beside a package, it may be a folder the package came with. It is
	// still the configured folder (an operator exports with --out into the
	// folder they work in), so verify uses it and says so plainly.
	keysGiven := false
	fs.Visit(func(f *flag.Flag) { keysGiven = keysGiven || f.Name == "keys" })
	shipped := !keysGiven && within(*keys, filepath.Dir(path))
	if shipped && *keyFile == "" && *fingerprint == "" {
		fmt.Fprintf(a.stdout, "NOTE the keys folder %s lies in the package's own folder: if it came with the package it proves nothing; pass --keys DIR, --key PEM or --fingerprint HEX to name the key you trust\n", *keys)
	}
	pub, keyPath, err := trustedKey(*keyFile, *fingerprint, *keys)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	a.reportPlantedKeys(f, st.Size(), path, keyPath)
	probs := exporter.Verify(f, st.Size(), pub)
	// The audit key, like the package key, comes from the operator of
	// the check, never from the package.
	var v note.Verifier
	if shipped && *auditKey == "" {
		fmt.Fprintf(a.stdout, "NOTE the audit key of %s is not used: that folder lies in the package's own folder (pass --audit-key FILE or --keys DIR)\n", *keys)
	} else if pv, err := auditVerifier(*auditKey, *keys); err == nil {
		v = pv
	} else if *auditKey != "" {
		return err
	}
	proofProbs, notice := exporter.VerifyProof(f, st.Size(), v)
	probs = append(probs, proofProbs...)
	for _, p := range probs {
		fmt.Fprintf(a.stdout, "FAILED %s\n", p)
	}
	if len(probs) > 0 {
		return fmt.Errorf("%s is NOT intact: %d problem(s)", path, len(probs))
	}
	if notice != "" {
		fmt.Fprintf(a.stdout, "OK %s: every file matches SHA256SUMS, signed by key %s (%s)\nNOTE %s\n",
			path, exporter.Fingerprint(pub), keyPath, notice)
		return nil
	}
	fmt.Fprintf(a.stdout, "OK %s: every file matches SHA256SUMS, signed by key %s (%s); its audit events are proven in the checkpointed audit log (audit key %s)\n",
		path, exporter.Fingerprint(pub), keyPath, v.Name())
	return nil
}

// within reports whether dir is base or lies beneath it, symbolic links
// resolved where they exist.
func within(dir, base string) bool {
	abs := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		return a
	}
	rel, err := filepath.Rel(abs(base), abs(dir))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// parseInterspersed is parse for a command whose flags may also follow its
// positional arguments; it returns the positional ones.
func (a *app) parseInterspersed(fs *flag.FlagSet, args []string, nargs int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{}
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != nargs {
		fs.Usage()
		return nil, usageError{fmt.Sprintf("expected %d argument(s), got %d", nargs, len(pos))}
	}
	return pos, nil
}

// trustedKey loads the key to verify with: --key, else the keys folder's
// key with --fingerprint, else the keys folder's current key. Never a key
// found inside or beside the package: whoever forged a package would put
// their own key there.
func trustedKey(keyFile, fingerprint, keyDir string) (ed25519.PublicKey, string, error) {
	if fingerprint != "" {
		k, err := exporter.FindKey(keyDir, fingerprint)
		if err != nil {
			return nil, "", err
		}
		return k.Public, k.Path, nil
	}
	given := keyFile != ""
	if !given {
		keyFile = filepath.Join(keyDir, exporter.PublicKeyFile)
	}
	b, err := os.ReadFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) && !given {
		return nil, "", usageError{fmt.Sprintf("no public key to verify with: pass --key PEM or --fingerprint HEX (%s does not exist)", keyFile)}
	} else if err != nil {
		return nil, "", err
	}
	pub, err := exporter.ParsePublicKeyPEM(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", keyFile, err)
	}
	return pub, keyFile, nil
}

// reportPlantedKeys says which keys lie inside or beside the package:
// they were ignored, and a genuine package needs none.
func (a *app) reportPlantedKeys(r io.ReaderAt, size int64, pkgPath, used string) {
	beside, _ := filepath.Glob(filepath.Join(filepath.Dir(pkgPath), "*.pem"))
	usedAbs, _ := filepath.Abs(used)
	for _, b := range beside {
		if abs, _ := filepath.Abs(b); abs == usedAbs {
			continue // the key given with --key, saved beside the package
		}
		fmt.Fprintf(a.stdout, "NOTE %s lies beside the package: ignored (verification uses only --key, --fingerprint or the keys folder)\n", b)
	}
	if zr, err := zip.NewReader(r, size); err == nil {
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, ".pem") || strings.Contains(strings.ToLower(f.Name), "key") {
				fmt.Fprintf(a.stdout, "NOTE the package holds %s, which looks like a key: ignored\n", f.Name)
			}
		}
	}
}

func signingKey(ctx context.Context, a *app, args []string) error {
	fs := a.flags("signing-key")
	keys := a.keysFlag(fs)
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	s, err := exporter.LoadOrCreateKey(*keys)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(s.PublicPEM())
	return err
}
