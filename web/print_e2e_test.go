package web

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"envelope/cases"
)

// TestE2EPrintCase prints a case page to PDF in Chromium and reads the
// text back with pdftotext: the printed-by line with the case number is on
// the paper; a closed case that was never reviewed prints no "Review"
// heading, and a process with no issuing authority no "Issued by" row;
// sections with nothing in them are left out; every heading is kept with
// what follows it (break-after: avoid in print), and no printed page ends
// with one.
func TestE2EPrintCase(t *testing.T) {
	ctx := browser(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext is not installed: CI must run the print test")
		}
		t.Skip("pdftotext not installed")
	}
	p, base := e2ePortal(t)
	c := p.create(cases.RoleIntake, "emergency.json")
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/close", []byte(`{"reason":"duplicate of an earlier request"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("close: %d %s", w.Code, w.Body)
	}
	var pdf []byte
	var headings []string
	err = chromedp.Do(ctx,
		signIn(base, p.emails[cases.RoleIntake]),
		chromedp.Navigate(base+"/cases/"+itoa(c.ID)),
		chromedp.WaitVisible(chromedp.ID(`h-timeline`)),
		checkPage(t, "case closed unreviewed"),
		// On paper each heading stays with what follows it.
		chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
				return err
			}
			loose, err := chromedp.Evaluate[[]string](`[...document.querySelectorAll('main h1, main h2, main h3')]
				.filter(h => getComputedStyle(h).display !== 'none' && getComputedStyle(h).breakAfter !== 'avoid')
				.map(h => h.textContent.trim())`)(ctx, tab)
			if err != nil {
				return err
			}
			if len(loose) > 0 {
				t.Errorf("printed headings that may end a page, apart from their content: %q", loose)
			}
			headings, err = chromedp.Evaluate[[]string](`[...document.querySelectorAll('main h2, main h3')]
				.filter(h => getComputedStyle(h).display !== 'none').map(h => h.textContent.trim())`)(ctx, tab)
			if err != nil {
				return err
			}
			_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
			return err
		}),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			r, err := chromedp.Call(ctx, cdppage.PrintToPDF, cdppage.PrintToPDFParams{})
			pdf = r.Data
			return err
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("not a PDF: %.20q", pdf)
	}
	file := filepath.Join(t.TempDir(), "case.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("ENVELOPE_SCREENSHOTS") == "1" {
		// The first printed page as an image, for docs/portal.md.
		prefix := filepath.Join("..", "docs", "screenshots", "case-print")
		if out, err := exec.Command("pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", file, prefix).CombinedOutput(); err != nil {
			t.Errorf("pdftoppm: %v %s", err, out)
		}
	}
	out, err := exec.Command(pdftotext, "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	txt := string(out)
	if !strings.Contains(txt, "Case "+c.Number+" · printed by "+p.emails[cases.RoleIntake]+" on") {
		t.Errorf("no printed-by line with the case number:\n%s", txt)
	}
	if regexp.MustCompile(`(?m)^\s*Review\s*$`).MatchString(txt) {
		t.Errorf("an empty Review heading is printed:\n%s", txt)
	}
	if c.Process.IssuingAuthority == "" && strings.Contains(txt, "Issued by") {
		t.Errorf("an empty Issued by row is printed:\n%s", txt)
	}
	for _, empty := range []string{"No letter produced yet.", "No notes.", "No document uploaded."} {
		if strings.Contains(txt, empty) {
			t.Errorf("an empty section is printed (%q)", empty)
		}
	}
	// No page ends with a heading: its section starts on the next page.
	for i, page := range strings.Split(txt, "\f") {
		// The last line of text, above the printed-by line if it is
		// at the foot.
		var last string
		for _, row := range strings.Split(page, "\n") {
			if row = strings.TrimSpace(row); row != "" && !strings.Contains(row, "· printed by ") {
				last = row
			}
		}
		for _, h := range headings {
			if last == h {
				t.Errorf("printed page %d ends with the heading %q", i+1, h)
			}
		}
	}
	if !strings.Contains(txt, "Timeline") {
		t.Errorf("the timeline is not printed:\n%s", txt)
	}
}
