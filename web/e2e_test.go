package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

// chromiumPath finds the browser for the end-to-end tests. Without one the
// tests skip locally but fail in CI, which installs Debian's chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("ENVELOPE_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: CI must run the browser tests")
	}
	t.Skip("chromium not installed; skipping the browser test")
	return ""
}

// browser starts a headless Chromium with a throw-away profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	tctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tctx
}

// screenshot saves a full-page PNG into docs/screenshots when
// ENVELOPE_SCREENSHOTS=1; otherwise it does nothing.
func screenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		if os.Getenv("ENVELOPE_SCREENSHOTS") != "1" {
			return nil
		}
		buf, err := chromedp.FullScreenshot(100)(ctx, tab)
		if err != nil {
			return err
		}
		dir := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		t.Logf("screenshot %s", name)
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// into runs an action that returns a value and keeps the value in dst.
func into[T any](a chromedp.Action[T], dst *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		v, err := a(ctx, tab)
		*dst = v
		return err
	})
}

func signIn(base, email string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		chromedp.SetValue(chromedp.ID(`email`), email),
		chromedp.SetValue(chromedp.ID(`password`), portalPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
	)
}

// TestE2EPortal drives the portal in a real browser: sign in as intake, log
// a case with its PDF, see the decision, sign out; sign in as a reviewer,
// approve it, open the case, produce its disclosure package and download
// it.
func TestE2EPortal(t *testing.T) {
	ctx := browser(t)
	db := storetest.SQLite(t)
	p := policy.Default()
	srv := New(db, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	listDirectory(t, db)
	exports := t.TempDir()
	if err := srv.SetExportDirs(filepath.Join(exports, "keys"), filepath.Join(exports, "packages")); err != nil {
		t.Fatal(err)
	}
	users := portalUsers(t, db, cases.RoleIntake, cases.RoleReviewer)
	// A few cases already on file, so the lists show something.
	for _, name := range []string{"subpoena.json", "emergency.json", "pen_register.json"} {
		req, err := cases.ParseRequest(fixtureJSON(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateCase(context.Background(), users[cases.RoleIntake], store.NewCase{Request: req, Decision: p.Decide(req, req.ReceivedAt)}); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(srv) // listens on 127.0.0.1:0
	defer ts.Close()
	base := ts.URL

	pdf := filepath.Join(t.TempDir(), "order.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n% pen register order 3:26-mj-70412\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format("2006-01-02") }

	var loginTitle, preview, caseURL, caseText string
	var phoneCols []string
	err := chromedp.Do(ctx,
		// Signed out, the portal sends the browser to the sign-in page.
		chromedp.Navigate(base+"/cases/new"),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		into(chromedp.Title(), &loginTitle),
		screenshot(t, "login"),
		checkPage(t, "login"),
		signIn(base, users[cases.RoleIntake]),
		screenshot(t, "dashboard"),
		checkPage(t, "dashboard (intake)"),
		chromedp.Navigate(base+"/cases"),
		chromedp.WaitVisible(chromedp.CSS(`table.list`)),
		screenshot(t, "cases"),
		checkPage(t, "case list"),
		chromedp.EmulateViewport(390, 844),
		screenshot(t, "cases-narrow"),
		// On a phone the Status and Due columns are in view, not scrolled off.
		into(chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.list thead th')]
			.filter(th => { const r = th.getBoundingClientRect(); return r.width > 0 && r.right <= window.innerWidth; })
			.map(th => th.textContent.trim())`), &phoneCols),
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/cases/new"),
		chromedp.WaitVisible(chromedp.CSS(`#agency\.name`)),
		checkPage(t, "intake, empty"),

		// Log a pen register order, checking the decision first.
		chromedp.Navigate(base+"/cases/new"),
		chromedp.WaitVisible(chromedp.CSS(`#agency\.name`)),
		chromedp.SetValue(chromedp.CSS(`#agency\.name`), "Federal Bureau of Investigation"),
		chromedp.SetValue(chromedp.CSS(`#agency\.country`), "US"),
		chromedp.SetValue(chromedp.CSS(`#agency\.verified_domains`), "fbi.gov"),
		chromedp.SetValue(chromedp.CSS(`#requester\.name`), "Dana Reyes"),
		chromedp.SetValue(chromedp.CSS(`#requester\.email`), "dreyes@fbi.gov"),
		chromedp.SetValue(chromedp.CSS(`#process\.type`), "pen_register"),
		chromedp.SetValue(chromedp.CSS(`#process\.issuing_authority`), "U.S. District Court for the Northern District of California"),
		chromedp.SetValue(chromedp.CSS(`#process\.reference`), "3:26-mj-70412"),
		chromedp.SetValue(chromedp.CSS(`#process\.issued_at`), day(-1)),
		chromedp.SetValue(chromedp.CSS(`#process\.expires_at`), day(60)),
		chromedp.SetValue(chromedp.ID(`target_value_0`), "+14155550123"),
		chromedp.Click(chromedp.ID(`cat_message_pairs`)),
		chromedp.Click(chromedp.ID(`cat_message_content`)),
		chromedp.SetValue(chromedp.CSS(`#window\.from`), day(0)),
		chromedp.SetValue(chromedp.CSS(`#window\.to`), day(90)),
		chromedp.SetValue(chromedp.ID(`due_at`), day(7)),
		chromedp.Click(chromedp.CSS(`button[value=check]`)),
		chromedp.WaitVisible(chromedp.ID(`h-preview`)),
		into(chromedp.Text(chromedp.CSS(`.decision-preview`)), &preview),
		screenshot(t, "intake"),
		chromedp.EmulateViewport(390, 844),
		screenshot(t, "intake-narrow"),
		chromedp.EmulateViewport(1280, 900),
		checkPage(t, "intake, decision checked"),
		chromedp.SetUploadFiles(chromedp.ID(`document`), []string{pdf}),
		chromedp.Click(chromedp.CSS(`button[value=save]`)),
		chromedp.WaitVisible(chromedp.ID(`h-decision`)),
		into(chromedp.Location(), &caseURL),
		into(chromedp.Text(chromedp.CSS(`main`)), &caseText),
		checkPage(t, "case logged"),
	)
	if err != nil {
		t.Fatalf("intake: %v", err)
	}
	if cols := strings.Join(phoneCols, "|"); !strings.Contains(cols, "Status") || !strings.Contains(cols, "Due") {
		t.Errorf("the case list at 390 px shows only %q", cols)
	}
	if !strings.HasPrefix(loginTitle, "Sign in") {
		t.Errorf("login title %q", loginTitle)
	}
	for _, want := range []string{"Partial", "US-PEN-REGISTER", "GLOBAL-CONTENT", "Message content"} {
		if !strings.Contains(preview, want) {
			t.Errorf("the decision shown before saving lacks %q:\n%s", want, preview)
		}
	}
	for _, want := range []string{"Case logged.", "order.pdf", "SHA-256", "Partial", "US-PEN-REGISTER", "Awaiting a reviewer"} {
		if !strings.Contains(caseText, want) {
			t.Errorf("new case page lacks %q:\n%s", want, caseText)
		}
	}
	caseURL = strings.TrimSuffix(caseURL, "?done=created")
	if !regexp.MustCompile(`/cases/\d+$`).MatchString(caseURL) {
		t.Fatalf("case URL %s", caseURL)
	}

	var afterLogout, reviewed, dashboard string
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &afterLogout),
		checkPage(t, "signed out"),
		signIn(base, users[cases.RoleReviewer]),
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.ID(`note`)),
		checkPage(t, "case awaiting review"),
		chromedp.SetValue(chromedp.ID(`note`), "Order checked against the court docket."),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.ID(`h-timeline`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &reviewed),
		screenshot(t, "case"),
		checkPage(t, "case approved"),
		chromedp.EmulateViewport(390, 844),
		screenshot(t, "case-narrow"),
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(chromedp.ID(`h-emergency`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &dashboard),
		screenshot(t, "dashboard-narrow"),
		checkPage(t, "dashboard (reviewer)"),
	)
	if err != nil {
		t.Fatalf("review: %v", err)
	}
	if !strings.Contains(afterLogout, "You are signed out.") {
		t.Errorf("after sign-out: %s", afterLogout)
	}
	for _, want := range []string{"Approved by " + users[cases.RoleReviewer], "Order checked against the court docket.", "Logged", "Policy decision", "Document uploaded"} {
		if !strings.Contains(reviewed, want) {
			t.Errorf("approved case page lacks %q:\n%s", want, reviewed)
		}
	}
	if !strings.Contains(dashboard, "Emergencies (1)") {
		t.Errorf("dashboard:\n%s", dashboard)
	}
	c, err := db.Case(context.Background(), caseURL[strings.LastIndex(caseURL, "/")+1:])
	if err != nil || c.Status != cases.StatusApproved || c.Document == nil || c.CreatedBy != users[cases.RoleIntake] {
		t.Fatalf("stored case: %+v %v", c, err)
	}

	// Produce the disclosure package from the case page and download it:
	// the file the browser saves is the one whose hash the page shows.
	downloads := t.TempDir()
	progress := chromedp.Events(ctx, cdpbrowser.DownloadProgress)
	var shownHash, flash, result string
	var pkgCols []float64
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/export"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/export"] button`)),
		// Nothing was collected yet: the page asks to confirm "no data found".
		chromedp.WaitVisible(chromedp.CSS(`#confirm-no-data button`)),
		checkPage(t, "case, confirm no data"),
		chromedp.Click(chromedp.CSS(`#confirm-no-data button`)),
		chromedp.WaitVisible(chromedp.CSS(`#packages td.hash code`)),
		into(chromedp.Text(chromedp.CSS(`#result`)), &result),
		into(chromedp.Text(chromedp.CSS(`.flash`)), &flash),
		into(chromedp.Text(chromedp.CSS(`#packages td.hash code`)), &shownHash),
		screenshot(t, "case-package"),
		checkPage(t, "case produced"),
		into(chromedp.Evaluate[[]float64](`[document.querySelector('#packages td.file').offsetWidth, document.querySelector('#packages td.hash').offsetWidth]`), &pkgCols),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true)})
			return err
		}),
		chromedp.Click(chromedp.CSS(`#packages a[download]`)),
	)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if !strings.Contains(flash, "Disclosure package produced") {
		t.Errorf("flash after export: %q", flash)
	}
	if len(pkgCols) != 2 || pkgCols[0] <= pkgCols[1] {
		t.Errorf("the packages table gives the hash more width than the file name: %v", pkgCols)
	}
	if result != "No data found" {
		t.Errorf("result after a production without records: %q", result)
	}
	checkDownload(t, progress, downloads, shownHash)
}

// TestE2EReportAndAdmin opens the transparency report and picks a period,
// then, as an admin, uploads a policy, reads its replay diff and activates
// it, and opens the users and agency pages.
func TestE2EReportAndAdmin(t *testing.T) {
	ctx := browser(t)
	db := storetest.SQLite(t)
	p := policy.Default()
	srv := New(db, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	admin := "admin@example.org"
	passwordOnly(t, db)
	if _, _, err := db.CreateUser(context.Background(), "test", admin, cases.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPassword(context.Background(), "test", admin, portalPassword, false); err != nil {
		t.Fatal(err)
	}
	// Requests from several countries over the last two years, so the
	// charts have something to draw.
	now := time.Now().UTC()
	last := lastCompleteQuarter(now)
	countries := []string{"US", "US", "US", "GB", "GB", "DE", "FR", "BR", "IN", "US", "AU", "CA"}
	for i := range 40 {
		name := []string{"subpoena.json", "pen_register.json", "emergency.json"}[i%3]
		var req *cases.Request
		req, err := cases.ParseRequest(fixtureJSON(t, name))
		if err != nil {
			t.Fatal(err)
		}
		req.Agency.Country = countries[(i*7)%len(countries)]
		q := last
		for range i % 8 {
			q = q.Prev()
		}
		if i < 14 {
			q = last
		}
		req.ReceivedAt = q.Start().Add(time.Duration(i) * 37 * time.Hour)
		if _, err := db.CreateCase(context.Background(), "seed@example.org", store.NewCase{Request: req, Decision: p.Decide(req, req.ReceivedAt)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateAgency(context.Background(), admin, store.AgencyEntry{Agency: cases.Agency{Name: "Bundeskriminalamt", Country: "DE", VerifiedDomains: []string{"bka.bund.de"}}, Phone: "+4961155112020"}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := ts.URL

	wider := filepath.Join(t.TempDir(), "wider.yaml")
	src := strings.Replace(string(p.Source()), "allow: [basic_subscriber_info]\n    explain: >-\n      a subpoena",
		"allow: [basic_subscriber_info, ip_logs]\n    explain: >-\n      a subpoena", 1)
	if err := os.WriteFile(wider, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(broken, []byte("us_process:\n  subpoena:\n    allow: [everything]\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	var reportTitle, reportText, older, refused, replay, activated string
	err := chromedp.Do(ctx,
		signIn(base, admin),
		chromedp.Navigate(base+"/reports"),
		chromedp.WaitVisible(chromedp.ID(`h-countries`)),
		into(chromedp.Title(), &reportTitle),
		into(chromedp.Text(chromedp.CSS(`main`)), &reportText),
		screenshot(t, "report"),
		checkPage(t, "report"),
		chromedp.SetValue(chromedp.ID(`period`), last.Prev().String()),
		chromedp.Click(chromedp.CSS(`form.period-picker button`)),
		// The new page is the one whose picker has the period selected.
		chromedp.WaitReady(chromedp.CSS(`option[value="`+last.Prev().String()+`"][selected]`)),
		chromedp.WaitVisible(chromedp.ID(`h-countries`)),
		into(chromedp.Text(chromedp.CSS(`h1`)), &older),

		chromedp.Navigate(base+"/admin/policy"),
		chromedp.WaitVisible(chromedp.ID(`policy-file`)),
		checkPage(t, "policy"),
		chromedp.SetUploadFiles(chromedp.ID(`policy-file`), []string{broken}),
		chromedp.Click(chromedp.CSS(`form[action="/admin/policy/replay"] button`)),
		chromedp.WaitVisible(chromedp.ID(`h-problems`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &refused),
		checkPage(t, "policy refused"),
		chromedp.SetUploadFiles(chromedp.ID(`policy-file`), []string{wider}),
		chromedp.Click(chromedp.CSS(`form[action="/admin/policy/replay"] button`)),
		chromedp.WaitVisible(chromedp.ID(`h-replay`)),
		into(chromedp.Text(chromedp.CSS(`.replay`)), &replay),
		screenshot(t, "policy-replay"),
		checkPage(t, "policy replay"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/policy/activate"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &activated),
		checkPage(t, "policy activated"),

		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		checkPage(t, "users"),
		chromedp.SetValue(chromedp.ID(`email`), "new.auditor@example.org"),
		chromedp.SetValue(chromedp.ID(`role`), "auditor"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/users"] button`)),
		chromedp.WaitVisible(chromedp.ID(`one-time-password`)),
		screenshot(t, "users"),
		checkPage(t, "users, one-time password"),
		chromedp.Navigate(base+"/admin/agencies"),
		chromedp.WaitVisible(chromedp.ID(`h-agencies`)),
		screenshot(t, "agencies"),
		checkPage(t, "agencies"),
		chromedp.EmulateViewport(390, 844),
		screenshot(t, "agencies-narrow"),
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/reports"),
		chromedp.WaitVisible(chromedp.ID(`h-countries`)),
		chromedp.EmulateViewport(390, 844),
		screenshot(t, "report-narrow"),
	)
	if err != nil {
		t.Fatalf("report and admin: %v", err)
	}
	if !strings.HasPrefix(reportTitle, "Transparency report "+last.String()) {
		t.Errorf("report title %q", reportTitle)
	}
	for _, want := range []string{"By country", "National security (US)", "Requests by country", "Changes from " + last.Prev().String(), "CSV (country table)"} {
		if !strings.Contains(reportText, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	if !strings.Contains(older, last.Prev().String()) {
		t.Errorf("period picker: %q", older)
	}
	if !strings.Contains(refused, "does not load") || !strings.Contains(refused, "everything") {
		t.Errorf("refused policy:\n%s", refused)
	}
	if !strings.Contains(replay, "+ IP logs") || !strings.Contains(replay, "would change") {
		t.Errorf("replay:\n%s", replay)
	}
	if !strings.Contains(activated, "The new policy is in force.") || srv.Policy().Version() == p.Version() {
		t.Errorf("activation:\n%s", activated)
	}
	if u, err := db.UserByEmail(context.Background(), "new.auditor@example.org"); err != nil || u.Role != cases.RoleAuditor {
		t.Errorf("user added in the browser: %+v %v", u, err)
	}
}
