package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store/storetest"
	"envelope/exporter"
)

// e2ePortal is a portal fixture served over HTTP for a real browser.
func e2ePortal(t *testing.T) (*portal, string) {
	t.Helper()
	p := newPortal(t, storetest.SQLite(t))
	dir := t.TempDir()
	if err := p.srv.SetExportDirs(filepath.Join(dir, "keys"), filepath.Join(dir, "packages")); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(p.srv)
	t.Cleanup(ts.Close)
	return p, ts.URL
}

func text(sel string, dst *string) chromedp.Action[chromedp.Void] {
	return into(chromedp.Text(chromedp.CSS(sel)), dst)
}

// Assign a case to yourself and find it in "My queue" and the workload;
// close it with a reason and it leaves the queue.
func TestE2EAssignAndClose(t *testing.T) {
	ctx := browser(t)
	p, base := e2ePortal(t)
	c := p.create(cases.RoleIntake, "subpoena.json")
	me := p.emails[cases.RoleIntake]
	caseURL := base + "/cases/" + itoa(c.ID)
	var assignee, queue, workload, status, queueAfter, flash string
	err := chromedp.Do(ctx,
		signIn(base, me),
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.ID(`assign-me`)),
		chromedp.Click(chromedp.ID(`assign-me`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		text(`#assignee`, &assignee),
		checkPage(t, "case assigned"),
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(chromedp.ID(`h-mine`)),
		text(`#h-mine + p + *`, &queue),
		chromedp.Navigate(base+"/workload"),
		chromedp.WaitVisible(chromedp.ID(`workload`)),
		text(`#workload`, &workload),
		checkPage(t, "workload"),
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.ID(`close-reason`)),
		chromedp.SetValue(chromedp.ID(`close-reason`), "Answered by letter of 2026-07-10"),
		chromedp.Click(chromedp.ID(`close-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		text(`.flash`, &flash),
		text(`.case-head .status`, &status),
		checkPage(t, "case closed"),
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(chromedp.ID(`h-mine`)),
		text(`#h-mine + p + *`, &queueAfter),
	)
	if err != nil {
		t.Fatal(err)
	}
	if assignee != me {
		t.Errorf("assigned to %q, want %q", assignee, me)
	}
	if !strings.Contains(queue, c.Number) {
		t.Errorf("My queue after assigning to self lacks %s: %q", c.Number, queue)
	}
	if !strings.Contains(workload, me) || !strings.Contains(workload, "1") {
		t.Errorf("workload: %q", workload)
	}
	if status != "Closed" || flash != "Case closed." {
		t.Errorf("after close: status %q, flash %q", status, flash)
	}
	if strings.Contains(queueAfter, c.Number) {
		t.Errorf("a closed case is still in My queue: %q", queueAfter)
	}
	got, err := p.db.Case(ctx, c.Number)
	if err != nil || got.Status != cases.StatusClosed || len(got.Notes) == 0 || !strings.Contains(got.Notes[len(got.Notes)-1].Body, "Answered by letter") {
		t.Errorf("stored case after close: %+v %v", got, err)
	}
	// Closing it again, through the API, is a conflict.
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases/"+c.Number+"/close", []byte(`{"reason":"again"}`), nil); w.Code != http.StatusConflict {
		t.Errorf("closing a closed case: %d", w.Code)
	}
}

// warrantJSON is a search warrant for the two accounts of
// testdata/export/records.ndjson, over October 2026.
const warrantJSON = `{
  "received_at": "2026-11-20T09:00:00Z",
  "agency": {"name": "Federal Bureau of Investigation", "country": "US", "verified_domains": ["fbi.gov"]},
  "requester": {"name": "Dana Reyes", "email": "dreyes@fbi.gov"},
  "process": {"type": "search_warrant", "issuing_authority": "U.S. District Court for the Northern District of California", "reference": "4:26-mj-71234", "issued_at": "2026-11-18"},
  "targets": [{"kind": "phone", "value": "+14155550123"}, {"kind": "account_id", "value": "acct-42"}],
  "categories": ["basic_subscriber_info", "ip_logs", "device_info"],
  "window": {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
  "due_at": "2026-12-20T00:00:00Z"
}`

// A reviewer narrows a warrant in the browser: device info dropped, the
// window cut to 10-20 October, the second account not produced. The
// production is held until the user notice is recorded as sent; then the
// package holds exactly what the shape left.
func TestE2EShapedDecisionInPackage(t *testing.T) {
	ctx := browser(t)
	p, base := e2ePortal(t)
	fixClock(p.fixture, collectNow)
	records, err := os.ReadFile(filepath.Join("..", "testdata", "export", "records.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metadata.New(p.db).Import(ctx, bytes.NewReader(records), metadata.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var c cases.Case
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(warrantJSON), &c); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	for _, cat := range []cases.Category{cases.BasicSubscriberInfo, cases.IPLogs, cases.DeviceInfo} {
		if _, ok := c.Decision.AllowedFor(cat); !ok {
			t.Fatalf("the policy does not allow %s: %+v", cat, c.Decision)
		}
	}
	if w := p.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+c.Number+"/approve", []byte(`{"note": ""}`), nil); w.Code != http.StatusOK {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	var shape, noticeBefore, held, noticeAfter string
	err = chromedp.Do(ctx,
		signIn(base, p.emails[cases.RoleReviewer]),
		chromedp.Navigate(base+"/cases/"+itoa(c.ID)),
		chromedp.WaitVisible(chromedp.ID(`shape-form`)),
		chromedp.Click(chromedp.ID(`shape_cat_device_info`)),
		chromedp.SetValue(chromedp.ID(`shape_from`), "2026-10-10"),
		chromedp.SetValue(chromedp.ID(`shape_to`), "2026-10-20"),
		chromedp.SetValue(chromedp.ID(`target_1`), "withhold"),
		chromedp.SetValue(chromedp.ID(`target_reason_1`), "not the platform's user"),
		chromedp.SetValue(chromedp.ID(`shape_reason`), "Court narrowed the warrant at the hearing"),
		chromedp.Click(chromedp.ID(`shape-submit`)),
		chromedp.WaitVisible(chromedp.ID(`shape`)),
		text(`#shape`, &shape),
		// The warrant requires notifying the user first: production is
		// held until the notice is recorded.
		text(`#notice-state`, &noticeBefore),
		text(`#packages`, &held),
		checkPage(t, "case shaped, notice due"),
		chromedp.SetValue(chromedp.ID(`notice-method`), "e-mail to the account's address, with the warrant"),
		chromedp.Click(chromedp.ID(`notice-submit`)),
		// The page before had a flash too (the shape's): wait for the
		// recorded notice, whose form is gone.
		chromedp.WaitNotPresent(chromedp.ID(`notice-form`)),
		text(`#notice-state`, &noticeAfter),
		chromedp.Click(chromedp.CSS(`#packages form[action$="/export"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#packages td.hash code`)),
		checkPage(t, "case shaped, produced"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shape, "acct-42") || !strings.Contains(shape, "Court narrowed") {
		t.Errorf("shape shown: %q", shape)
	}
	if !strings.HasPrefix(noticeBefore, "Notice due") || !strings.Contains(held, "production is held until the user is notified") {
		t.Errorf("before the notice: %q; packages: %q", noticeBefore, held)
	}
	if !strings.HasPrefix(noticeAfter, "Notice sent") {
		t.Errorf("after recording the notice: %q", noticeAfter)
	}
	exp, err := p.srv.exporter()
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := exporter.ListPackages(ctx, p.db, c.ID)
	if err != nil || len(pkgs) != 1 {
		t.Fatalf("packages %v %v", pkgs, err)
	}
	path, err := exp.CopyOut(ctx, pkgs[0].FileName, "")
	if err != nil {
		t.Fatal(err)
	}
	files := unzipPackage(t, path)
	if _, ok := files["records/device_info.csv"]; ok {
		t.Error("device info is in the package after the reviewer dropped it")
	}
	for name, b := range files {
		if strings.HasPrefix(name, "records/") && strings.Contains(string(b), "acct-42") {
			t.Errorf("%s holds the withheld account", name)
		}
	}
	var ips []struct {
		At time.Time `json:"at"`
	}
	if err := json.Unmarshal(files["records/ip_logs.json"], &ips); err != nil || len(ips) == 0 {
		t.Fatalf("ip_logs.json: %v %d records", err, len(ips))
	}
	for _, r := range ips {
		if r.At.Before(time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)) || !r.At.Before(time.Date(2026, 10, 21, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("IP log at %s is outside the narrowed window", r.At)
		}
	}
}

// A clarification round trip in the browser, and an agency's withdrawal
// stopping a pen register's collection.
func TestE2EClarificationAndWithdrawal(t *testing.T) {
	ctx := browser(t)
	p, base := e2ePortal(t)
	fixClock(p.fixture, collectNow)
	sub := p.create(cases.RoleIntake, "subpoena.json")
	pen := p.penRegisterCase()
	var waiting, approveForms, back, timeline, collecting, withdrawn, windows string
	err := chromedp.Do(ctx,
		signIn(base, p.emails[cases.RoleReviewer]),
		chromedp.Navigate(base+"/cases/"+itoa(sub.ID)),
		chromedp.WaitVisible(chromedp.ID(`question`)),
		chromedp.SetValue(chromedp.ID(`question`), "Which period does the subpoena cover?"),
		chromedp.Click(chromedp.CSS(`#clarify-form button`)),
		chromedp.WaitVisible(chromedp.ID(`answer`)),
		text(`.case-head .status`, &waiting),
		checkPage(t, "case needs clarification"),
		into(chromedp.Evaluate[string](`String(document.querySelectorAll('form[action$="/review"]').length)`), &approveForms),
		chromedp.SetValue(chromedp.ID(`answer`), "January to June 2026."),
		chromedp.Click(chromedp.CSS(`#answer-form button`)),
		chromedp.WaitVisible(chromedp.ID(`question`)),
		text(`.case-head .status`, &back),
		text(`.timeline`, &timeline),

		chromedp.Navigate(base+"/cases/"+itoa(pen.ID)),
		chromedp.WaitVisible(chromedp.ID(`h-collection`)),
		text(`#collection tbody`, &collecting),
		checkPage(t, "pen register collecting"),
		chromedp.SetValue(chromedp.ID(`withdraw-reason`), "Agency letter: investigation closed"),
		chromedp.Click(chromedp.ID(`withdraw-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		text(`.case-head .status`, &withdrawn),
		text(`#collection tbody`, &windows),
		checkPage(t, "pen register withdrawn"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if waiting != "Needs clarification" || approveForms != "0" || back != "Received" {
		t.Errorf("clarification: status %q (approve forms %s), then %q", waiting, approveForms, back)
	}
	if !strings.Contains(timeline, "Clarification requested") || !strings.Contains(timeline, "Clarification answered") {
		t.Errorf("timeline: %q", timeline)
	}
	if !strings.Contains(collecting, "Collecting") {
		t.Fatalf("the pen register was not collecting before: %q", collecting)
	}
	if withdrawn != "Withdrawn" || strings.Contains(windows, "Collecting") || !strings.Contains(windows, "Closed early") {
		t.Errorf("after withdrawal: status %q, windows %q", withdrawn, windows)
	}
}

// unzipPackage reads a package's entries.
func unzipPackage(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, e := range zr.File {
		rc, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name] = b
	}
	return out
}
