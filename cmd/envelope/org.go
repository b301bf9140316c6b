package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"envelope/cases"
	"envelope/cases/store"
)

func init() {
	register(&command{name: "org load", args: "FILE",
		summary: "set the organisation profile (letterhead, custodian of records, paper sizes) from a JSON file", run: orgLoad})
	register(&command{name: "org show", args: "",
		summary: "print the organisation profile as JSON (images by size)", run: orgShow})
}

// orgFile is the profile's file form: the fields of cases.Org, with the
// logo and signature image named by paths relative to the file.
type orgFile struct {
	cases.Org
	LogoFile      string `json:"logo_file,omitempty"`
	SignatureFile string `json:"signature_file,omitempty"`
}

// readOrgFile reads a profile file, and the images it names, from fsys.
// Errors name the file and the field.
func readOrgFile(fsys fs.FS, name string) (*cases.Org, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var f orgFile
	if err := cases.DecodeStrict(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, img := range []struct {
		field, file string
		dst         *[]byte
	}{{"logo_file", f.LogoFile, &f.Logo}, {"signature_file", f.SignatureFile, &f.SignatureImage}} {
		if img.file == "" {
			continue
		}
		if *img.dst, err = fs.ReadFile(fsys, path.Join(path.Dir(name), img.file)); err != nil {
			return nil, fmt.Errorf("%s: %w", name, cases.Invalid(map[string]string{img.field: err.Error()}))
		}
	}
	f.Org.Normalize()
	if err := f.Org.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &f.Org, nil
}

func orgLoad(ctx context.Context, a *app, args []string) error {
	fs := a.flags("org load")
	db := a.dbFlag(fs)
	if err := a.parse(fs, args, 1); err != nil {
		return err
	}
	abs, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		return err
	}
	o, err := readOrgFile(os.DirFS(filepath.Dir(abs)), filepath.Base(abs))
	if err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		if err := s.SetOrg(ctx, a.actor(), o); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "organisation profile set: %s\n", o)
		return nil
	})
}

func orgShow(ctx context.Context, a *app, args []string) error {
	fs := a.flags("org show")
	db := a.dbFlag(fs)
	if err := a.parse(fs, args, 0); err != nil {
		return err
	}
	return a.withDB(ctx, *db, func(s *store.DB) error {
		o, ok, err := s.Org(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return cases.Errorf(cases.ENOTFOUND, "no organisation profile is set: envelope org load FILE, or the admin page /admin/organisation")
		}
		text := *o
		text.Logo, text.SignatureImage = nil, nil
		out := struct {
			cases.Org
			Logo           int `json:"logo_bytes"`
			SignatureImage int `json:"signature_image_bytes"`
		}{text, len(o.Logo), len(o.SignatureImage)}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	})
}
