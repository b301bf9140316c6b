package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeTags are the rule sets the portal is held to: WCAG 2.2 A and AA
// (axe files the 2.0 and 2.1 criteria under their own tags).
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// checkWidths are the widths every page state is checked at: a desktop
// and a phone.
var checkWidths = []struct{ w, h int64 }{{1400, 900}, {390, 844}}

var (
	axeOnce   sync.Once
	axeSource string
	axeWhere  string
)

// axeScript finds axe.min.js from the npm package axe-core: $AXE_CORE (the
// file or the package directory), web/testdata/node_modules (where .ci/run
// installs it), the repository's node_modules, or npm's global root. In CI
// a missing axe fails the test; locally the check is skipped with a note.
func axeScript(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		var cands []string
		if env := os.Getenv("AXE_CORE"); env != "" {
			cands = append(cands, env, filepath.Join(env, "axe.min.js"), filepath.Join(env, "node_modules", "axe-core", "axe.min.js"))
		}
		cands = append(cands,
			filepath.Join("testdata", "node_modules", "axe-core", "axe.min.js"),
			filepath.Join("..", "node_modules", "axe-core", "axe.min.js"))
		if out, err := exec.Command("npm", "root", "-g").Output(); err == nil {
			cands = append(cands, filepath.Join(strings.TrimSpace(string(out)), "axe-core", "axe.min.js"))
		}
		for _, c := range cands {
			if b, err := os.ReadFile(c); err == nil && len(b) > 0 {
				axeSource, axeWhere = string(b), c
				return
			}
		}
	})
	if axeSource == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("axe-core is not installed: CI must run the accessibility checks (npm install --prefix web/testdata axe-core)")
		}
		t.Log("axe-core not installed; skipping the accessibility check (npm install --prefix web/testdata axe-core)")
	}
	return axeSource
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkPage checks the page state the browser is in, at 1400 and 390 px:
// axe-core must report no WCAG 2.2 A/AA violation of any impact, and the
// page must not scroll sideways. Failures are reported with t.Errorf so one
// run lists every page state that fails; the count of violations per state
// and width is logged. The viewport is left at the tests' 1280 x 900.
func checkPage(t *testing.T, state string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		src := axeScript(t)
		for _, vp := range checkWidths {
			if _, err := chromedp.EmulateViewport(vp.w, vp.h)(ctx, tab); err != nil {
				return err
			}
			var widths struct{ Scroll, Inner int }
			if _, err := into(chromedp.Evaluate[struct{ Scroll, Inner int }](
				`({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`), &widths)(ctx, tab); err != nil {
				return err
			}
			if widths.Scroll > widths.Inner {
				t.Errorf("%s at %d px: the page scrolls sideways (%d px wide in a %d px window)%s", state, vp.w, widths.Scroll, widths.Inner, overflowing(ctx, tab))
			}
			// On a desktop every table fits its panel: nothing to scroll.
			if vp.w >= 1400 {
				var wide []string
				if _, err := into(chromedp.Evaluate[[]string](`[...document.querySelectorAll('.scroll')]
					.filter(e => e.scrollWidth > e.clientWidth + 1)
					.map(e => (e.getAttribute('aria-label') || e.className) + ' ' + e.scrollWidth + '>' + e.clientWidth)`), &wide)(ctx, tab); err != nil {
					return err
				}
				if len(wide) > 0 {
					t.Errorf("%s at %d px: tables wider than their panels: %s", state, vp.w, strings.Join(wide, "; "))
				}
			}
			if src == "" {
				continue
			}
			tags, _ := json.Marshal(axeTags)
			js := `(async () => {
				if (!window.axe) { ` + src + `
				}
				const r = await axe.run(document, {runOnly: {type: 'tag', values: ` + string(tags) + `}, resultTypes: ['violations']});
				return JSON.stringify(r.violations);
			})()`
			out, err := chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise)(ctx, tab)
			if err != nil {
				return fmt.Errorf("axe on %s: %w", state, err)
			}
			var vs []axeViolation
			if err := json.Unmarshal([]byte(out), &vs); err != nil {
				return err
			}
			t.Logf("axe: %s at %d px: %d violations", state, vp.w, len(vs))
			for _, v := range vs {
				var where []string
				for _, n := range v.Nodes {
					where = append(where, fmt.Sprint(n.Target)+": "+strings.ReplaceAll(n.Summary, "\n", " "))
				}
				t.Errorf("axe: %s at %d px: %s (%s): %s\n\t%s", state, vp.w, v.ID, v.Impact, v.Help, strings.Join(where, "\n\t"))
			}
		}
		_, err := chromedp.EmulateViewport(1280, 900)(ctx, tab)
		return err
	})
}

// overflowing names the widest elements that stick out of the window, to
// say where a sideways scroll comes from.
func overflowing(ctx context.Context, tab *chromedp.Target) string {
	out, err := chromedp.Evaluate[string](`(() => {
		const w = window.innerWidth + 1, seen = [];
		const clipped = e => { for (let p = e.parentElement; p; p = p.parentElement) {
			const o = getComputedStyle(p).overflowX;
			if ((o === 'auto' || o === 'hidden' || o === 'scroll') && p.getBoundingClientRect().right <= w) return true;
		} return false; };
		for (const e of document.querySelectorAll('body *')) {
			const r = e.getBoundingClientRect(), pr = e.parentElement.getBoundingClientRect();
			if (r.right > w && r.width > 0 && pr.right <= w && !clipped(e)) {
				const s = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
				seen.push(s + ' "' + e.textContent.trim().slice(0, 30) + '" ' + Math.round(r.right));
			}
			if (seen.length >= 6) break;
		}
		// Text wider than its box (an unbreakable hash) is not in any
		// element's box: measure the text nodes too.
		const tw = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = tw.nextNode(); n && seen.length < 6; n = tw.nextNode()) {
			const rg = document.createRange(); rg.selectNodeContents(n);
			if (rg.getBoundingClientRect().right > w && !clipped(n)) seen.push('text "' + n.textContent.trim().slice(0, 40) + '"');
		}
		return seen.join('; ');
	})()`)(ctx, tab)
	if err != nil || out == "" {
		return ""
	}
	return ": " + out
}
