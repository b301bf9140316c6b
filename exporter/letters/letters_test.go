package letters

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/letters")

var at = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// Each letter's markup on the sample production is its golden file.
func TestGoldenLetters(t *testing.T) {
	for _, k := range Kinds {
		for i, d := range Samples() {
			text, err := Default().Text(k, d)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join("..", "..", "testdata", "letters", "golden", string(k)+[]string{"", "_eu"}[i]+".txt")
			if *update {
				os.WriteFile(name, []byte(text), 0o644)
				continue
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatalf("%v (go test ./exporter/letters -update)", err)
			}
			if text != string(want) {
				t.Errorf("%s differs from its golden file:\n%s", name, text)
			}
		}
	}
}

// A template that does not parse, names an unknown directive, or uses a
// field Data does not have is refused with its file and line; a file that
// is no letter is refused; a valid override changes the version.
func TestLoadDirErrorsNameTheLine(t *testing.T) {
	for src, want := range map[string]string{
		"@letterhead\n\nDear {{.Salutation}\n":       "cover.tmpl:3:",
		"@letterhead\n@date\n@sign\n":                "cover.tmpl:3: unknown directive @sign",
		"@letterhead\nline\n\n{{.Org.Approver}}\n":   "cover.tmpl:4:",
		"@letterhead\n{{range .Produced}}\n{{.X}}\n": "cover.tmpl:4: unexpected EOF",
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "cover.tmpl"), []byte(src), 0o600)
		_, err := LoadDir(dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, want)) {
			t.Errorf("%q: %v, want %s", src, err, want)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "covr.tmpl"), []byte("x"), 0o600)
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "not a letter template") {
		t.Errorf("misspelt file: %v", err)
	}
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "no_records.tmpl"), []byte("@letterhead\nNothing found for {{.CaseNumber}}.\n@signature\n"), 0o600)
	s, err := LoadDir(dir)
	if err != nil || s.Version() == Default().Version() || !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(s.Version()) {
		t.Fatalf("override: %v %v", s, err)
	}
	if text, _ := s.Text(NoRecords, Samples()[0]); !strings.Contains(text, "Nothing found for C-2026-000123") {
		t.Errorf("override not used: %s", text)
	}
	if text, _ := s.Text(Cover, Samples()[0]); !strings.Contains(text, "In response to the legal process") {
		t.Errorf("default not kept: %s", text)
	}
}

// rawCode finds a vocabulary code or an internal word in a letter's text.
var rawCode = regexp.MustCompile(`\b[a-z]+_[a-z_]+\b|needs_review|sha256:|supervisor must|(?i)\benvelope\b|end exclusive|policy version|approved by`)

// filePath is a file name inside a package, which may hold a code.
var filePath = regexp.MustCompile(`records/\S+`)

// Every letter, read back by pdftotext: no raw code and no internal field,
// the custodian's name and title, the name in Arabic, Devanagari and
// Chinese as those characters, Letter paper for a US recipient and A4 for
// a German one.
func TestLettersReadBack(t *testing.T) {
	for _, tool := range []string{"pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is not installed")
		}
	}
	for _, k := range Kinds {
		for i, country := range []string{"US", "DE"} {
			d := Samples()[i]
			pdf, err := Default().Letter(k, d, country, at)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), string(k)+".pdf")
			os.WriteFile(path, pdf, 0o600)
			if dir := os.Getenv("ENVELOPE_KEEP_LETTERS"); dir != "" {
				os.WriteFile(filepath.Join(dir, string(k)+"_"+country+".pdf"), pdf, 0o644)
			}
			out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").CombinedOutput()
			if err != nil {
				t.Fatal(err, string(out))
			}
			text := string(out)
			flat := strings.Join(strings.Fields(text), " ")
			if m := rawCode.FindString(filePath.ReplaceAllString(text, "")); m != "" {
				t.Errorf("%s %s: internal or raw text %q:\n%s", k, country, m, text)
			}
			for _, want := range []string{"Jordan Lee", "Custodian of Records", "Example Messaging, Inc.", "Page 1 of"} {
				if !strings.Contains(flat, want) {
					t.Errorf("%s %s: lacks %q:\n%s", k, country, want, text)
				}
			}
			if k != UserNotice || i == 0 {
				for _, want := range []string{"محمد", "王小明", "देव"} {
					if k != Certificate && k != Clarification && k != Cover && k != Refusal && !strings.Contains(text, want) {
						t.Errorf("%s %s: the target's name lacks %q:\n%s", k, country, want, text)
					}
				}
			}
			info, _ := exec.Command("pdfinfo", path).CombinedOutput()
			size := map[string]string{"US": "612 x 792 pts (letter)", "DE": "595.28 x 841.89 pts (A4)"}[country]
			if !strings.Contains(string(info), size) {
				t.Errorf("%s %s: page size:\n%s", k, country, info)
			}
		}
	}
}
