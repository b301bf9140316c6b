package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"envelope/cases"
)

// TestE2EAccessibleForms holds the keyboard and error paths of issue 19 in
// Chromium: a bad Save puts focus on a summary that names and links each
// field; each message names its field and is tied to it; Enter in a text
// field saves; the dates are one Tab stop each; a reviewer is not offered
// Approve on an emergency and the page says it needs a supervisor; a case
// due today passes the contrast check on the dashboard and the case list.
func TestE2EAccessibleForms(t *testing.T) {
	ctx := browser(t)
	p, base := e2ePortal(t)
	now := time.Now().UTC()
	var today cases.Case
	req := map[string]any{}
	if err := json.Unmarshal(fixtureJSON(t, "subpoena.json"), &req); err != nil {
		t.Fatal(err)
	}
	req["received_at"] = now.Add(-time.Hour).Format(time.RFC3339)
	// Due later today, whatever the time now: halfway to midnight.
	req["due_at"] = now.Add(endOfDay(now, time.UTC).Sub(now) / 2).Format(time.RFC3339)
	req["due_reason"] = "the agency asked for today"
	body, _ := json.Marshal(req)
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", body, &today); w.Code != http.StatusCreated {
		t.Fatalf("create a case due today: %d %s", w.Code, w.Body)
	}
	emergency := p.create(cases.RoleIntake, "emergency.json")

	type focus struct{ ID, Tag string }
	type overdueBadges struct{ Shown, Cut int }
	var badges overdueBadges
	var active focus
	var summary, agencyMsg, describedBy string
	var links []string
	var tabs int
	var afterEnter string
	activeJS := `({ID: document.activeElement.id, Tag: document.activeElement.tagName})`
	err := chromedp.Do(ctx,
		signIn(base, p.emails[cases.RoleIntake]),
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`.badge.today`)),
		checkPage(t, "dashboard, due today"),
		// At 1400 px the emergencies panel holds its table: the OVERDUE
		// badge of the emergency is inside the panel, not cut off.
		chromedp.EmulateViewport(1400, 900),
		into(chromedp.Evaluate[overdueBadges](`(() => {
			const bs = [...document.querySelectorAll('section.urgent .badge.overdue')];
			return {Shown: bs.length, Cut: bs.filter(b => {
				const r = b.getBoundingClientRect(), box = (b.closest('.scroll') || b.closest('section')).getBoundingClientRect(),
					panel = b.closest('section').getBoundingClientRect();
				return r.width === 0 || r.right > Math.min(box.right, panel.right) + 0.5;
			}).length};
		})()`), &badges),
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/cases"),
		chromedp.WaitVisible(chromedp.CSS(`table.list .badge.today`)),
		checkPage(t, "case list, due today"),

		// Tab from the agency name to "Save case".
		chromedp.Navigate(base+"/cases/new"),
		chromedp.WaitVisible(chromedp.CSS(`#agency\.name`)),
		chromedp.Focus(chromedp.CSS(`#agency\.name`)),
		chromedp.Func(func(ctx_ context.Context, tab *chromedp.Target) (err error) {
			tabs, err = tabTo(ctx_, tab, `button[value=save]`, 200)
			return err
		}),

		// A bad Save: nothing filled in.
		chromedp.Click(chromedp.CSS(`button[value=save]`)),
		chromedp.WaitVisible(chromedp.ID(`error-summary`)),
		settleFocus("error-summary"),
		into(chromedp.Evaluate[focus](activeJS), &active),
		text(`#error-summary`, &summary),
		into(chromedp.Evaluate[[]string](`[...document.querySelectorAll('#error-summary a')].map(a => a.getAttribute('href'))`), &links),
		into(chromedp.Evaluate[string](`document.getElementById('agency.name').getAttribute('aria-describedby')`), &describedBy),
		into(chromedp.Evaluate[string](`(document.getElementById('err-agency-name') || {textContent: ''}).textContent`), &agencyMsg),
		checkPage(t, "intake, bad save"),
		screenshot(t, "intake-errors"),

		// Enter in a text field of a good form saves the case.
		chromedp.Navigate(base+"/cases/new"),
		chromedp.WaitVisible(chromedp.CSS(`#agency\.name`)),
		chromedp.SetValue(chromedp.CSS(`#agency\.name`), "Federal Bureau of Investigation"),
		chromedp.SetValue(chromedp.CSS(`#agency\.country`), "US"),
		chromedp.SetValue(chromedp.CSS(`#process\.type`), "subpoena"),
		chromedp.SetValue(chromedp.CSS(`#process\.issuing_authority`), "Grand Jury"),
		chromedp.SetValue(chromedp.ID(`target_value_0`), "+14155550123"),
		chromedp.Click(chromedp.ID(`cat_basic_subscriber_info`)),
		chromedp.Focus(chromedp.CSS(`#requester\.name`)),
		chromedp.SendKeys(chromedp.CSS(`#requester\.name`), "Dana Reyes"+kb.Enter),
		chromedp.WaitVisible(chromedp.ID(`h-decision`)),
		into(chromedp.Location(), &afterEnter),
	)
	if err != nil {
		t.Fatalf("intake: %v", err)
	}
	if badges.Shown == 0 || badges.Cut > 0 {
		t.Errorf("dashboard at 1400 px: %d OVERDUE badge(s) in the emergencies panel, %d cut off", badges.Shown, badges.Cut)
	}
	t.Logf("Tab stops from the agency name to Save case: %d", tabs)
	if tabs > 45 {
		t.Errorf("%d Tab stops from the agency name to Save case (66 before dates were one stop each)", tabs)
	}
	if active.ID != "error-summary" {
		t.Errorf("after a bad Save focus is on %+v, not the error summary", active)
	}
	if !strings.Contains(summary, "Agency name is required") || !strings.Contains(strings.Join(links, " "), "#agency.name") {
		t.Errorf("the summary does not name and link the agency name: %q %v", summary, links)
	}
	if !strings.HasPrefix(agencyMsg, "Agency name") || !strings.Contains(describedBy, "err-agency-name") {
		t.Errorf("agency name message %q, aria-describedby %q", agencyMsg, describedBy)
	}
	if !strings.Contains(afterEnter, "done=created") {
		t.Errorf("Enter in a text field did not save the case: %s", afterEnter)
	}

	// A reviewer: no Approve on an emergency; a bad Approve puts focus on
	// the summary, which links the note, and the note's message is next
	// to it.
	var approveButtons, who string
	var gap float64
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		signIn(base, p.emails[cases.RoleReviewer]),
		chromedp.Navigate(base+"/cases/"+itoa(emergency.ID)),
		chromedp.WaitVisible(chromedp.ID(`h-review`)),
		into(chromedp.Evaluate[string](`String(document.querySelectorAll('button[value=approve]').length)`), &approveButtons),
		text(`#review`, &who),
		checkPage(t, "emergency, reviewer"),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		// The supervisor approves the emergency (needs review) without
		// saying why.
		signIn(base, p.emails[cases.RoleSupervisor]),
		chromedp.Navigate(base+"/cases/"+itoa(emergency.ID)),
		chromedp.WaitVisible(chromedp.ID(`note`)),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
		chromedp.WaitVisible(chromedp.ID(`error-summary`)),
		settleFocus("error-summary"),
		into(chromedp.Evaluate[focus](activeJS), &active),
		into(chromedp.Evaluate[[]string](`[...document.querySelectorAll('#error-summary a')].map(a => a.getAttribute('href'))`), &links),
		into(chromedp.Evaluate[float64](`(() => { const n = document.getElementById('note').getBoundingClientRect(), e = document.getElementById('note-err');
			return e ? e.getBoundingClientRect().top - n.bottom : 1e9; })()`), &gap),
		into(chromedp.Evaluate[string](`document.getElementById('note').getAttribute('aria-describedby') || ''`), &describedBy),
		checkPage(t, "case, review refused"),
	)
	if err != nil {
		t.Fatalf("review: %v", err)
	}
	if approveButtons != "0" || !strings.Contains(who, "needs a supervisor") {
		t.Errorf("a reviewer on an emergency: %s Approve buttons; review section %q", approveButtons, who)
	}
	if active.ID != "error-summary" || strings.Join(links, " ") != "#note" {
		t.Errorf("after a bad Approve: focus %+v, summary links %v", active, links)
	}
	if gap < 0 || gap > 40 || describedBy != "note-err" {
		t.Errorf("the note's message is %.0f px below it (aria-describedby %q)", gap, describedBy)
	}
}

// settleFocus waits up to 5 s for the element with id to have focus:
// autofocus is applied after the page is shown, a moment later on a busy
// machine. It does not fail; the caller checks where the focus is.
func settleFocus(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(50 * time.Millisecond) {
			got, err := chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`)(ctx, tab)
			if err != nil || got == id {
				return err
			}
		}
		return nil
	})
}
