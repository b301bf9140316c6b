package exporter

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store/storetest"
)

// internal are what the agency's PDF must not hold: the policy version,
// the approver, rule identifiers, internal notes and the product's name.
var internal = regexp.MustCompile(`sha256:test|rex@example\.org|ivy@example\.org|US-WARRANT|TEST-DENY|GLOBAL-CONTENT|supervisor must|(?i)\benvelope\b|end exclusive|Policy version|Approved by|needs_review`)

// rawCode is a vocabulary code (lower case words joined by underscores)
// outside a file name.
var rawCode = regexp.MustCompile(`\b[a-z]+_[a-z_]+\b`)

var fileName = regexp.MustCompile(`records/\S+`)

// The production PDF, read back by pdftotext and pdfinfo: no raw code, no
// internal field, the custodian's name and title, a Bates number on every
// page, continuous from 1, the subscriber's name in Arabic, Devanagari and
// Chinese as those characters, Letter paper for a US agency and A4 for a
// German one.
func TestProductionPDFReadsLikeAProduction(t *testing.T) {
	for _, tool := range []string{"pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is not installed")
		}
	}
	name := "محمد 王小明 देवनागरी"
	for country, size := range map[string]string{"US": "(letter)", "DE": "(A4)"} {
		t.Run(country, func(t *testing.T) {
			f := newFixture(t, storetest.SQLite(t))
			f.agency = &cases.Agency{Name: "Agency of " + country, Country: country}
			f.importFile("records.ndjson")
			b, _ := json.Marshal(map[string]any{"kind": "subscriber", "account": phone, "name": name,
				"email": "m@example.net", "created_at": "2024-03-01T10:00:00Z"})
			if _, err := f.meta.Import(ctx, strings.NewReader(string(b)), metadata.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			w := f.warrant()
			pkg := f.export(w)
			files := unzip(t, f.path(pkg))
			pdf := filepath.Join(t.TempDir(), PDFFile)
			os.WriteFile(pdf, files[PDFFile], 0o600)
			if dir := os.Getenv("ENVELOPE_KEEP_PDF_DIR"); dir != "" {
				os.WriteFile(filepath.Join(dir, "disclosure_"+country+".pdf"), files[PDFFile], 0o644)
			}
			text := pdfText(t, files[PDFFile])
			if m := internal.FindString(text); m != "" {
				t.Errorf("internal text %q in the agency's PDF", m)
			}
			if m := rawCode.FindString(fileName.ReplaceAllString(text, "")); m != "" {
				t.Errorf("raw code %q in the PDF", m)
			}
			for _, want := range []string{"Jordan Lee", "Custodian of Records", "Example Messaging, Inc.", "محمد", "王小明", "देवनागरी", "Records: IP logs"} {
				if !strings.Contains(text, want) {
					t.Errorf("the PDF lacks %q", want)
				}
			}
			pages := strings.Split(strings.TrimRight(text, "\f"), "\f")
			if len(pages) < 6 {
				t.Fatalf("only %d pages", len(pages))
			}
			prefix := BatesPrefix(w, 1)
			for i, pg := range pages {
				if want := fmt.Sprintf("%s-%06d", prefix, i+1); !strings.Contains(pg, want) {
					t.Errorf("page %d lacks Bates number %s", i+1, want)
				}
				if want := fmt.Sprintf("Page %d of %d", i+1, len(pages)); !strings.Contains(pg, want) {
					t.Errorf("page %d lacks %q", i+1, want)
				}
			}
			info, _ := exec.Command("pdfinfo", pdf).CombinedOutput()
			if !strings.Contains(string(info), size) {
				t.Errorf("paper for %s:\n%s", country, info)
			}
			// The manifest keeps the internal record.
			var m Manifest
			json.Unmarshal(files[ManifestFile], &m)
			if m.PolicyVersion != "sha256:test" || m.Case.ApprovedBy != f.reviewer.Email {
				t.Errorf("manifest lost the internal record: %+v", m.Case)
			}
		})
	}
}
