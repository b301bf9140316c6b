package mail

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

// Template names.
const (
	TmplAlert      = "deadline_at_risk"
	TmplUnassigned = "deadline_unassigned" // an alert on a case nobody is assigned to, to the supervisors
	TmplEscalation = "deadline_escalated"
	TmplUserNotice = "user_notice"
	// The agency portal's (web/agency): a new message in a case's thread,
	// to the officers and to the legal team, and a package ready.
	TmplAgencyMessage = "agency_message"
	TmplStaffMessage  = "staff_message"
	TmplPackageReady  = "package_ready"
)

var names = []string{TmplAlert, TmplUnassigned, TmplEscalation, TmplUserNotice, TmplAgencyMessage, TmplStaffMessage, TmplPackageReady}

//go:embed templates/*.tmpl
var defaults embed.FS

// Templates renders messages. A template file is text/template: its first
// line is "Subject: ...", then a blank line, then the body. The embedded
// defaults (templates/*.tmpl) serve every name a directory does not
// override.
type Templates struct {
	t map[string]*template.Template
}

// Data is what a message template sees: deliberately little. An alert
// names the case only by its number and a link, since mail leaves the
// building and a mailbox is read by more people than the portal is.
type Data struct {
	CaseNumber string
	Link       string
	DueAt      string // the deadline, with its zone
	Org        string // the organisation's name
	Reason     string // why an alert was raised; no case content
}

// DefaultTemplates returns the embedded templates.
func DefaultTemplates() *Templates {
	t, err := LoadTemplates("")
	if err != nil {
		panic(err) // the embedded set is tested
	}
	return t
}

// LoadTemplates reads the embedded templates, each overridden by
// NAME.tmpl in dir where dir has one ("" : none). A file that does not
// parse or lacks its Subject line is refused with its name; so is a file
// whose name is not a template, so a typo does not silently keep the
// default.
func LoadTemplates(dir string) (*Templates, error) {
	src := map[string][]byte{}
	for _, n := range names {
		b, err := fs.ReadFile(defaults, "templates/"+n+".tmpl")
		if err != nil {
			return nil, err
		}
		src[n] = b
	}
	if dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("mail templates: %w", err)
			}
		}
		for _, f := range files {
			n := strings.TrimSuffix(filepath.Base(f), ".tmpl")
			if _, ok := src[n]; !ok {
				return nil, fmt.Errorf("mail templates: %s: no template of that name (the names are %s)", f, strings.Join(names, ", "))
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			src[n] = b
		}
	}
	t := &Templates{t: map[string]*template.Template{}}
	for n, b := range src {
		if !bytes.HasPrefix(b, []byte("Subject: ")) {
			return nil, fmt.Errorf("mail templates: %s.tmpl: the first line must be \"Subject: ...\"", n)
		}
		tm, err := template.New(n + ".tmpl").Option("missingkey=error").Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
		if _, _, err := render(tm, sample); err != nil {
			return nil, fmt.Errorf("mail templates: %s.tmpl on sample data: %w", n, err)
		}
		t.t[n] = tm
	}
	return t, nil
}

var sample = Data{CaseNumber: "ENV-2026-000001", Link: "http://127.0.0.1:8080/cases/1", DueAt: "2 December 2026 17:00 UTC", Org: "Example Inc.", Reason: "half the time gone"}

// Render returns the subject and body of template name on d.
func (t *Templates) Render(name string, d Data) (subject, body string, err error) {
	tm, ok := t.t[name]
	if !ok {
		return "", "", fmt.Errorf("no mail template %q", name)
	}
	return render(tm, d)
}

func render(tm *template.Template, d Data) (string, string, error) {
	var b strings.Builder
	if err := tm.Execute(&b, d); err != nil {
		return "", "", err
	}
	head, body, _ := strings.Cut(b.String(), "\n")
	subject := strings.TrimSpace(strings.TrimPrefix(head, "Subject: "))
	if subject == "" {
		return "", "", fmt.Errorf("%s: empty subject", tm.Name())
	}
	return subject, strings.TrimLeft(body, "\n"), nil
}
