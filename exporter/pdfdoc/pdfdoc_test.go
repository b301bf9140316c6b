package pdfdoc

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Names in Arabic, Devanagari, Chinese, Hebrew and Latin with accents come
// out of the text layer as those characters, read back by pdftotext; a
// right-to-left override in a name is removed.
func TestScriptsInTheTextLayer(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed")
	}
	d := New("P", "A4")
	d.F.AddPage()
	names := []string{"محمد عبد الله", "देवनागरी नाम", "王小明", "דוד כהן", "Zoë Ångström", "Дмитрий"}
	for _, n := range names {
		d.Para(6, "Name: "+n)
	}
	d.Cell(80, 6, "Cell 王小明 محمد", "", 1, "L", false)
	d.Para(6, "evil\u202Etxt.exe")
	var buf bytes.Buffer
	if err := d.F.Output(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.pdf")
	os.WriteFile(path, buf.Bytes(), 0o600)
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatal(err, string(out))
	}
	text := string(out)
	for _, n := range names {
		if !strings.Contains(text, n) {
			t.Errorf("text layer lacks %q:\n%s", n, text)
		}
	}
	if strings.ContainsRune(text, 0x202E) || !strings.Contains(text, "eviltxt.exe") {
		t.Errorf("bidi override not removed:\n%s", text)
	}
	if buf.Len() > 400<<10 {
		t.Errorf("the PDF is %d bytes: fonts are not subset", buf.Len())
	}
}
