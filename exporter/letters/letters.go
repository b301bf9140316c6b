// Package letters renders the letters a legal team sends, from templates:
// the production cover letter, the certificate of authenticity of business
// records (FRE 902(11) and 902(13)), the no-records letter, the
// preservation acknowledgement, the clarification request, the refusal or
// partial-execution letter and the notice to the account holder.
//
// Templates are data, like the policy: embedded defaults
// (templates/*.tmpl), any of which a directory of files may override,
// with a version (the SHA-256 of the set) recorded with every letter. A
// template is Go text/template producing a few line directives (see
// render.go); a template that does not parse, names a directive that does
// not exist or fails on sample data is refused with its file and line.
//
// A template sees only Data: the public facts of a case, never its
// internal notes, policy version, rule identifiers or approver.
package letters

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"envelope/cases"
)

// Kind is a letter template.
type Kind string

// The letters.
const (
	Cover         Kind = "cover"
	Certificate   Kind = "certificate"
	NoRecords     Kind = "no_records"
	Preservation  Kind = "preservation"
	Clarification Kind = "clarification"
	Refusal       Kind = "refusal"
	UserNotice    Kind = "user_notice"
)

// Kinds lists every letter.
var Kinds = []Kind{Cover, Certificate, NoRecords, Preservation, Clarification, Refusal, UserNotice}

// Valid reports whether k is a letter.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Title is the letter's name for people.
func (k Kind) Title() string {
	return map[Kind]string{
		Cover: "Production cover letter", Certificate: "Certificate of authenticity",
		NoRecords: "No-records letter", Preservation: "Preservation acknowledgement",
		Clarification: "Clarification request", Refusal: "Refusal or partial execution",
		UserNotice: "Notice to the account holder",
	}[k]
}

//go:embed templates/*.tmpl
var defaults embed.FS

// Set is a loaded set of letter templates.
type Set struct {
	tmpl    map[Kind]*template.Template
	version string
}

// Version is the SHA-256 of the template files, "sha256:..."; a letter
// records the version it was made with.
func (s *Set) Version() string { return s.version }

// LoadError is a template that was refused: its file, line and why.
type LoadError struct {
	File    string
	Line    int
	Message string
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

var def = func() *Set {
	s, err := load(nil)
	if err != nil {
		panic(err)
	}
	return s
}()

// Default returns the embedded templates.
func Default() *Set { return def }

// LoadDir loads the templates, each from dir/<kind>.tmpl where that file
// exists and from the embedded defaults otherwise. A file in dir that is
// not a letter is refused, so a misspelt name cannot silently leave the
// default in force.
func LoadDir(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("letters: %w", err)
	}
	over := map[Kind][]byte{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		k := Kind(strings.TrimSuffix(name, ".tmpl"))
		if !k.Valid() {
			return nil, &LoadError{File: filepath.Join(dir, name), Message: fmt.Sprintf("not a letter template (the letters are %s)", kindList())}
		}
		if over[k], err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("letters: %w", err)
		}
	}
	s, err := load(over)
	if le, ok := err.(*LoadError); ok && over[Kind(strings.TrimSuffix(le.File, ".tmpl"))] != nil {
		le.File = filepath.Join(dir, le.File)
	}
	return s, err
}

func kindList() string {
	var ks []string
	for _, k := range Kinds {
		ks = append(ks, string(k)+".tmpl")
	}
	return strings.Join(ks, ", ")
}

// load parses every template, from over where given, checks each on the
// sample data, and computes the set's version.
func load(over map[Kind][]byte) (*Set, error) {
	s := &Set{tmpl: map[Kind]*template.Template{}}
	h := sha256.New()
	for _, k := range Kinds {
		name := string(k) + ".tmpl"
		src, ok := over[k]
		if !ok {
			var err error
			if src, err = fs.ReadFile(defaults, "templates/"+name); err != nil {
				return nil, err
			}
		}
		if err := checkDirectives(name, src); err != nil {
			return nil, err
		}
		t, err := template.New(name).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, templateError(name, err)
		}
		for _, d := range Samples() {
			if _, err := s.execute(t, d); err != nil {
				return nil, templateError(name, err)
			}
		}
		s.tmpl[k] = t
		fmt.Fprintf(h, "%s\x00%d\x00%s", name, len(src), src)
	}
	s.version = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return s, nil
}

func (s *Set) execute(t *template.Template, d *Data) ([]byte, error) {
	var buf bytes.Buffer
	err := t.Execute(&buf, d)
	return buf.Bytes(), err
}

// lineRe finds the line in a text/template error ("template: x.tmpl:12:3: ...").
var lineRe = regexp.MustCompile(`^template: [^:]+:(\d+):(?:\d+:)?\s*(.*)$`)

func templateError(name string, err error) *LoadError {
	msg := err.Error()
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &LoadError{File: name, Line: line, Message: m[2]}
	}
	return &LoadError{File: name, Message: msg}
}

// checkDirectives refuses a line that starts with @ but names no
// directive, with its line.
func checkDirectives(name string, src []byte) error {
	for i, line := range strings.Split(string(src), "\n") {
		l := strings.TrimSpace(line)
		if !strings.HasPrefix(l, "@") {
			continue
		}
		d, _, _ := strings.Cut(l, " ")
		if !directives[d] {
			var known []string
			for k := range directives {
				known = append(known, k)
			}
			sort.Strings(known)
			return &LoadError{File: name, Line: i + 1, Message: fmt.Sprintf("unknown directive %s (known: %s)", d, strings.Join(known, ", "))}
		}
	}
	return nil
}

// Text returns the rendered markup of a letter: the template executed on d.
func (s *Set) Text(k Kind, d *Data) (string, error) {
	t, ok := s.tmpl[k]
	if !ok {
		return "", cases.Errorf(cases.EINVALID, "no letter %q (the letters are %s)", k, kindList())
	}
	b, err := s.execute(t, d)
	if err != nil {
		return "", templateError(string(k)+".tmpl", err)
	}
	return string(b), nil
}
