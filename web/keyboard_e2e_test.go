package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"envelope/cases"
)

// TestE2EKeyboardPaths does the portal's main jobs in Chromium with the
// keyboard alone (Tab, typing, Space and Enter; no clicks and no values
// set by script): sign in, log a request, sign out, sign in as a reviewer,
// find the case by searching for its number, and approve it. Each control
// must come up within a few Tabs of the last, and Enter must take the
// action the page means: Enter in a text field saves the case (not
// "Check"), Enter in the search box searches.
func TestE2EKeyboardPaths(t *testing.T) {
	ctx := browser(t)
	p, base := e2ePortal(t)
	stops := map[string]int{}
	// step Tabs to the control matching sel, within max Tab stops of where
	// the focus is, and types keys there.
	step := func(name, sel string, max int, keys string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			n, err := tabTo(ctx, tab, sel, max)
			if err != nil {
				return err
			}
			if n > max {
				return fmt.Errorf("%s (%s) not reached in %d Tab stops", name, sel, max)
			}
			stops[name] = n
			if keys == "" {
				return nil
			}
			_, err = chromedp.KeyEvent(keys)(ctx, tab)
			return err
		})
	}
	signInKeys := func(email string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.ID(`email`)),
			step("email", `#email`, 3, email),
			step("password", `#password`, 1, portalPassword+kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
		)
	}
	signOutKeys := chromedp.Steps(
		step("sign out", `form[action="/logout"] button`, 25, kb.Enter),
		chromedp.WaitVisible(chromedp.ID(`email`)),
	)
	day := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	var created, process, found string
	err := chromedp.Do(ctx,
		signInKeys(p.emails[cases.RoleIntake]),
		// The nav link to the intake form, then the form top to bottom.
		step("log a request", `nav a[href="/cases/new"]`, 12, kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#agency\.name`)),
		step("agency name", `#agency\.name`, 15, "Federal Bureau of Investigation"),
		step("country", `#agency\.country`, 1, "US"),
		step("requester name", `#requester\.name`, 2, "Dana Reyes"),
		step("requester email", `#requester\.email`, 1, "dreyes@fbi.gov"),
		step("process type", `#process\.type`, 2, "Subpoena"),
		into(chromedp.Evaluate[string](`document.getElementById('process.type').value`), &process),
		step("issuing authority", `#process\.issuing_authority`, 2, "Grand Jury, D.D.C."),
		step("reference", `#process\.reference`, 1, "GJ-2026-KEYS"),
		step("issued on", `#process\.issued_at`, 1, day),
		step("target", `#target_value_0`, 12, "+14155550123"),
		step("basic subscriber info", `#cat_basic_subscriber_info`, 8, " "),
		// On in the next text field, Enter saves.
		step("window from", `#window\.from`, 12, kb.Enter),
		waitLocation("done=created"),
		into(chromedp.Location(), &created),
		signOutKeys,
	)
	if err != nil {
		t.Fatalf("intake by keyboard: %v (stops so far %v)", err, stops)
	}
	if process != "subpoena" {
		t.Errorf("typing Subpoena in the process type chose %q", process)
	}
	c, err := p.db.Case(ctx, strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(created, "?", 2)[0], base+"/cases/"), "/"))
	if err != nil {
		t.Fatalf("the case Enter saved (%s): %v", created, err)
	}
	if c.Process.Reference != "GJ-2026-KEYS" || len(c.Targets) != 1 || len(c.Categories) != 1 || c.Categories[0] != cases.BasicSubscriberInfo {
		t.Errorf("the case typed in: reference %q targets %v categories %v", c.Process.Reference, c.Targets, c.Categories)
	}
	caseLink := `table a[href="/cases/` + itoa(c.ID) + `"]`
	err = chromedp.Do(ctx,
		signInKeys(p.emails[cases.RoleReviewer]),
		step("cases", `nav a[href="/cases"]`, 6, kb.Enter),
		chromedp.WaitVisible(chromedp.ID(`q`)),
		step("search", `#q`, 15, c.Number+kb.Enter),
		waitLocation("q="),
		chromedp.WaitVisible(chromedp.CSS(caseLink)),
		text(`table.list tbody`, &found),
		step("the case found", caseLink, 30, kb.Enter),
		chromedp.WaitVisible(chromedp.ID(`note`)),
		step("review note", `#note`, 60, "Checked against the order; the subscriber record only."),
		step("approve", `button[value=approve]`, 1, kb.Enter),
		waitLocation("done=approved"),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		signOutKeys,
	)
	if err != nil {
		t.Fatalf("find and approve by keyboard: %v (stops %v)", err, stops)
	}
	t.Logf("Tab stops: %v", stops)
	if strings.Count(found, "LR-") != 1 || !strings.Contains(found, c.Number) {
		t.Errorf("searching for %s found:\n%s", c.Number, found)
	}
	after, err := p.db.Case(ctx, c.Number)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != cases.StatusApproved || after.Review == nil || !strings.Contains(after.Review.Note, "subscriber record only") {
		t.Errorf("after Enter on Approve the case is %s, review %+v", after.Status, after.Review)
	}
}

// tabTo presses Tab until the focused element matches sel and returns how
// many presses it took (0: it had the focus already); max+1 when it did
// not get there in max.
func tabTo(ctx context.Context, tab *chromedp.Target, sel string, max int) (int, error) {
	js := fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, sel)
	for n := 0; n <= max; n++ {
		ok, err := chromedp.Evaluate[bool](js)(ctx, tab)
		if err != nil || ok {
			return n, err
		}
		if _, err := chromedp.KeyEvent(kb.Tab)(ctx, tab); err != nil {
			return n, err
		}
	}
	return max + 1, nil
}

// waitLocation waits until the page's address contains part: after Enter
// submits a form, the old page is still there for a moment, and its
// elements would satisfy a WaitVisible.
func waitLocation(part string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		for {
			loc, err := chromedp.Location()(ctx, tab)
			if err != nil {
				return err
			}
			if strings.Contains(loc, part) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the address never contained %q (last %s): %w", part, loc, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
