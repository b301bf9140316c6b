package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"envelope/cases"
	"envelope/cases/store/storetest"
	"envelope/web/agency"
)

// TestE2EAgencyPortalStates puts the agency portal's other page states
// through axe and the no-sideways-scroll check at 1400 and 390 px (the
// sign-up path is checked in TestE2EAgencyPortal): refused registration
// and sign-in, a refused submission, a question from the legal team and
// the answer sent, a production to download and its receipt acknowledged,
// a withdrawn request and a page that does not exist.
func TestE2EAgencyPortalStates(t *testing.T) {
	bctx := browser(t)
	p := newPortal(t, storetest.SQLite(t))
	dir := t.TempDir()
	if err := p.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(p.srv)
	defer ts.Close()
	base := ts.URL
	fbi := agencyID(t, p.db, "Federal Bureau of Investigation")
	o := newOfficer(t, p, base, fbi, "kim@fbi.gov")
	pdf := filepath.Join(t.TempDir(), "subpoena.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n% grand jury subpoena\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fill := func(reference, target string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/agency/cases/new"),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/cases/new"]`)),
			chromedp.SetValue(chromedp.CSS(`select[name="process.type"]`), "subpoena"),
			chromedp.SetValue(chromedp.CSS(`input[name="process.issuing_authority"]`), "Grand Jury, D.D.C."),
			chromedp.SetValue(chromedp.CSS(`input[name="process.reference"]`), reference),
			chromedp.SetValue(chromedp.CSS(`input[name="process.issued_at"]`), "2026-06-30"),
			chromedp.SetValue(chromedp.CSS(`input[name="window.from"]`), "2026-01-01"),
			chromedp.SetValue(chromedp.CSS(`input[name="window.to"]`), "2026-07-01"),
			chromedp.SetValue(chromedp.CSS(`select[name=target_kind]`), "phone"),
			chromedp.SetValue(chromedp.CSS(`input[name=target_value]`), target),
			chromedp.Click(chromedp.CSS(`input[value=basic_subscriber_info]`)),
			chromedp.SetUploadFiles(chromedp.CSS(`input[name=document]`), []string{pdf}),
			chromedp.Click(chromedp.CSS(`form[action="/agency/cases/new"] button[type=submit]`)),
		)
	}
	var asked, withdrawn string
	var offscreen []string
	err := chromedp.Do(bctx,
		// Refused: an address outside the agency's directory domains.
		chromedp.Navigate(base+"/agency/register"),
		chromedp.WaitVisible(chromedp.CSS(`select[name=agency]`)),
		chromedp.SetValue(chromedp.CSS(`select[name=agency]`), fbi),
		chromedp.SetValue(chromedp.CSS(`input[name=name]`), "SA Dana Kim"),
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "kim@gmail.com"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/register"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.error, .field-error, [role=alert]`)),
		checkPage(t, "agency register refused"),
		// Refused: a wrong password.
		chromedp.Navigate(base+"/agency/login"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/login"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "kim@fbi.gov"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), "wrong horse battery"),
		chromedp.SetValue(chromedp.CSS(`input[name=code]`), "000000"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.error, .field-error, [role=alert]`)),
		checkPage(t, "agency sign-in refused"),
		// Signed in as the officer newOfficer enrolled.
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: agency.SessionCookie, Value: o.cookie, URL: base})
			return err
		}),
		fill("GJ-2026-90", "not a phone"),
		chromedp.WaitVisible(chromedp.CSS(`.error, .field-error, [role=alert]`)),
		checkPage(t, "agency submit refused"),
		fill("GJ-2026-91", "+14155550123"),
		chromedp.WaitVisible(chromedp.ID(`stage`)),
		fill("GJ-2026-92", "+14155550124"),
		chromedp.WaitVisible(chromedp.ID(`stage`)),
	)
	if err != nil {
		t.Fatalf("refusals and submissions: %v", err)
	}
	officer, _, err := p.db.OfficerSession(ctx, o.cookie)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := p.db.OfficerCases(ctx, officer)
	if err != nil || len(mine) != 2 {
		t.Fatalf("the officer's cases: %v %v", mine, err)
	}
	asking, leaving := mine[1], mine[0] // newest first
	askURL, leaveURL := base+"/agency/cases/"+itoa(asking.ID), base+"/agency/cases/"+itoa(leaving.ID)
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases/"+asking.Number+"/clarification", []byte(`{"question":"Which account exactly?"}`), nil); w.Code != http.StatusOK {
		t.Fatalf("ask: %d %s", w.Code, w.Body)
	}
	err = chromedp.Do(bctx,
		chromedp.Navigate(askURL),
		chromedp.WaitVisible(chromedp.CSS(`#send-answer`)),
		text(`#question`, &asked),
		checkPage(t, "agency case, question asked"),
		chromedp.SetValue(chromedp.CSS(`#message-body`), "The number ending 0123 only."),
		chromedp.Click(chromedp.CSS(`#send-answer`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		checkPage(t, "agency case, answer sent"),
	)
	if err != nil {
		t.Fatalf("clarification: %v", err)
	}
	if asked != "Which account exactly?" {
		t.Errorf("the question shown: %q", asked)
	}
	// Produced: approve and export through the API; the download is fetched
	// outside the browser (it is a file, not a page), then the receipt is
	// acknowledged on the page.
	if w := p.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+asking.Number+"/approve", []byte(`{"note": "Checked against the order."}`), nil); w.Code != http.StatusOK {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases/"+asking.Number+"/notice", []byte(`{"kind":"sent","method":"e-mail"}`), nil); w.Code != http.StatusCreated {
		t.Fatalf("notice: %d %s", w.Code, w.Body)
	}
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases/"+asking.Number+"/export", nil, nil); w.Code != http.StatusCreated {
		t.Fatalf("export: %d %s", w.Code, w.Body)
	}
	_, body := o.get("/agency/cases/" + itoa(asking.ID))
	link := regexp.MustCompile(`href="(/agency/download/[^"]+)"`).FindStringSubmatch(body)
	if link == nil {
		t.Fatalf("no download link: %s", body)
	}
	err = chromedp.Do(bctx,
		chromedp.Navigate(askURL),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/acknowledge"]`)),
		checkPage(t, "agency case, produced"),
		screenshot(t, "agency-case-produced"),
		chromedp.EmulateViewport(390, 844),
		screenshot(t, "agency-case-narrow"),
		// On a phone the download link and the receipt button are in
		// view, not scrolled off to the right of the hash.
		into(chromedp.Evaluate[[]string](`[...document.querySelectorAll('a[href^="/agency/download/"], form[action$="/acknowledge"] button')]
			.filter(e => { const r = e.getBoundingClientRect(), box = e.closest('.scroll').getBoundingClientRect();
				return r.width === 0 || r.right > Math.min(box.right, window.innerWidth) + 0.5; })
			.map(e => e.textContent.trim())`), &offscreen),
		chromedp.EmulateViewport(1280, 900),
		chromedp.Func(func(context.Context, *chromedp.Target) error {
			if resp, _ := o.get(link[1]); resp.StatusCode != http.StatusOK {
				t.Errorf("download: %d", resp.StatusCode)
			}
			return nil
		}),
		chromedp.Click(chromedp.CSS(`form[action$="/acknowledge"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		checkPage(t, "agency case, receipt acknowledged"),
		chromedp.Navigate(leaveURL),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/withdraw"]`)),
		chromedp.SetValue(chromedp.CSS(`form[action$="/withdraw"] input[name=reason]`), "The investigation closed."),
		chromedp.Click(chromedp.CSS(`form[action$="/withdraw"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		text(`#stage`, &withdrawn),
		checkPage(t, "agency case, withdrawn"),
		chromedp.Navigate(base+"/agency/cases"),
		chromedp.WaitVisible(chromedp.CSS(`table`)),
		checkPage(t, "agency case list, three states"),
		chromedp.Navigate(base+"/agency/cases/99999"),
		chromedp.WaitVisible(chromedp.CSS(`main`)),
		checkPage(t, "agency page not found"),
	)
	if err != nil {
		t.Fatalf("production and withdrawal: %v", err)
	}
	if len(offscreen) > 0 {
		t.Errorf("at 390 px the production's %q are out of view", offscreen)
	}
	if withdrawn == "" || withdrawn == "Received" {
		t.Errorf("after withdrawing the stage reads %q", withdrawn)
	}
}
