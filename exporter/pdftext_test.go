package exporter

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pdfText returns the text layer of a PDF as pdftotext reads it, or skips
// the test where poppler-utils is not installed.
func pdfText(t testing.TB, pdf []byte, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", append(append(args, "-enc", "UTF-8"), path, "-")...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// flat joins a text's words with single spaces, so a phrase can be found
// wherever the PDF wrapped its lines.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }
