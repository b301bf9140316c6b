package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"envelope/cases"
)

// TestE2EAgencyPortal is issue 14's whole path in headless Chromium, with
// every mail through a real SMTP server (mailpit): an officer registers,
// opens the emailed link, enrols TOTP, signs out, signs in with password
// and code, and submits a pen register order with its PDF; a reviewer
// asks for clarification in the case's thread; the officer, emailed,
// answers there with a PDF; a supervisor approves; the package is
// produced; the officer, emailed, downloads it and acknowledges receipt;
// the staff case page shows it delivered and acknowledged, and the audit
// log has each step.
func TestE2EAgencyPortal(t *testing.T) {
	bctx := browser(t)
	p, base := e2ePortal(t)
	mp, snd := mailReady(t, p.fixture)
	p.srv.Mail.BaseURL = base // the links in mail open this server
	fbi := agencyID(t, p.db, "Federal Bureau of Investigation")
	dir := t.TempDir()
	order := filepath.Join(dir, "pen-register-order.pdf")
	answer := filepath.Join(dir, "target-confirmation.pdf")
	for f, s := range map[string]string{order: "pen register order", answer: "the target confirmed"} {
		if err := os.WriteFile(f, []byte("%PDF-1.4\n% "+s+"\n%%EOF\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// inbox flushes the queue and returns the newest message to the
	// officer, which must hold a link to this server.
	inbox := func(subject string) (text, link string) {
		t.Helper()
		if _, failed, err := snd.Flush(ctx); err != nil || failed != 0 {
			t.Fatalf("flush: %d failed, %v", failed, err)
		}
		for _, m := range mp.Messages() { // newest first
			if m.To[0].Address == "kim@fbi.gov" && strings.Contains(m.Subject, subject) {
				text = mp.Message(m.ID).Text
				return text, regexp.MustCompile(regexp.QuoteMeta(base) + `/agency/\S+`).FindString(text)
			}
		}
		t.Fatalf("no mail %q to the officer in %+v", subject, mp.Messages())
		return "", ""
	}

	const password = "correct horse battery"
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/agency/register"),
		chromedp.WaitVisible(chromedp.CSS(`select[name=agency]`)),
		checkPage(t, "agency register"),
		chromedp.SetValue(chromedp.CSS(`select[name=agency]`), fbi),
		chromedp.SetValue(chromedp.CSS(`input[name=name]`), "SA Dana Kim"),
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "kim@fbi.gov"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), password),
		screenshot(t, "agency-register"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/register"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		checkPage(t, "agency sign-in, registered"),
	)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	_, verify := inbox("Confirm your email")
	if !strings.Contains(verify, "/agency/verify?token=") {
		t.Fatalf("no verification link mailed: %q", verify)
	}
	var secret string
	err = chromedp.Do(bctx,
		chromedp.Navigate(verify),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/verify"] button`)),
		checkPage(t, "agency verify"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/verify"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "kim@fbi.gov"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form[action="/agency/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#totp-secret`)),
		screenshot(t, "agency-totp"),
		checkPage(t, "agency enrol"),
		into(chromedp.Text(chromedp.CSS(`#totp-secret`)), &secret),
	)
	if err != nil {
		t.Fatalf("verify and first sign-in: %v", err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(strings.TrimSpace(secret), at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The enrolment code's step is spent; the sign-in uses the next one.
	realNow := p.db.Now
	p.db.Now = func() time.Time { return realNow().Add(31 * time.Second) }
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format("2006-01-02") }
	var caseURL string
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS(`input[name=code]`), code(realNow())),
		chromedp.Click(chromedp.CSS(`form[action="/agency/totp"] button`)),
		// The enrolment page has the sign-out form too: wait until it has
		// gone, or the click below can land on a page being replaced.
		chromedp.WaitNotPresent(chromedp.CSS(`#totp-secret`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/logout"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/agency/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/login"]`)),
		checkPage(t, "agency signed out"),
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "kim@fbi.gov"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), password),
		chromedp.SetValue(chromedp.CSS(`input[name=code]`), code(p.db.Now())),
		screenshot(t, "agency-login"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/logout"]`)),
		chromedp.Navigate(base+"/agency/cases/new"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/cases/new"]`)),
		checkPage(t, "agency submit"),
		chromedp.SetValue(chromedp.CSS(`select[name="process.type"]`), "pen_register"),
		chromedp.SetValue(chromedp.CSS(`input[name="process.issuing_authority"]`), "U.S. District Court for the Northern District of California"),
		chromedp.SetValue(chromedp.CSS(`input[name="process.reference"]`), "3:26-mj-70412"),
		chromedp.SetValue(chromedp.CSS(`input[name="process.issued_at"]`), day(-1)),
		chromedp.SetValue(chromedp.CSS(`input[name="process.expires_at"]`), day(59)),
		chromedp.SetValue(chromedp.CSS(`select[name=target_kind]`), "phone"),
		chromedp.SetValue(chromedp.CSS(`input[name=target_value]`), "(415) 555-0123"),
		chromedp.Click(chromedp.CSS(`input[value=message_pairs]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="window.from"]`), day(-1)),
		chromedp.SetValue(chromedp.CSS(`input[name="window.to"]`), day(59)),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=document]`), []string{order}),
		screenshot(t, "agency-submit"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/cases/new"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#stage`)),
		screenshot(t, "agency-case"),
		into(chromedp.Location(), &caseURL),
		checkPage(t, "agency case submitted"),
		chromedp.Navigate(base+"/agency/cases"),
		chromedp.WaitVisible(chromedp.CSS(`table`)),
		checkPage(t, "agency case list"),
	)
	if err != nil {
		t.Fatalf("enrol, sign in, submit: %v", err)
	}
	id := regexp.MustCompile(`/agency/cases/(\d+)`).FindStringSubmatch(caseURL)
	if id == nil {
		t.Fatalf("not on the case page: %s", caseURL)
	}
	caseID := id[1]
	kase, err := p.db.Case(ctx, caseID)
	if err != nil || kase.Process.Type != cases.PenRegister || kase.Document == nil {
		t.Fatalf("the submitted case: %+v %v", kase, err)
	}

	// A reviewer asks for clarification in the thread.
	question := "Is +14155550123 the only number on the order?"
	var stage string
	err = chromedp.Do(bctx,
		signIn(base, p.emails[cases.RoleReviewer]),
		chromedp.Navigate(base+"/cases/"+caseID+"#thread"),
		chromedp.WaitVisible(chromedp.CSS(`#thread-body`)),
		chromedp.SetValue(chromedp.CSS(`#thread-body`), question),
		chromedp.Click(chromedp.CSS(`#thread-clarify`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatalf("clarification in the thread: %v", err)
	}
	text, link := inbox("A new message")
	noCaseDetails(t, text, kase, question)
	if !strings.HasSuffix(link, "/agency/cases/"+caseID+"#thread") {
		t.Fatalf("the message mail's link: %q", link)
	}
	// The officer follows the link and answers with a PDF.
	err = chromedp.Do(bctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#send-answer`)),
		chromedp.SetValue(chromedp.CSS(`#message-body`), "Yes: only +14155550123. The court's confirmation is attached."),
		chromedp.SetUploadFiles(chromedp.CSS(`#message-files`), []string{answer}),
		chromedp.Click(chromedp.CSS(`#send-answer`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		into(chromedp.Text(chromedp.CSS(`#stage`)), &stage),
		chromedp.ScrollIntoView(chromedp.CSS(`#thread`)),
		screenshot(t, "agency-thread"),
		checkPage(t, "agency case, thread"),
		chromedp.EmulateViewport(1280, 900), // checkPage leaves the narrow one
	)
	if err != nil {
		t.Fatalf("the officer's answer: %v", err)
	}
	if stage != "Received" {
		t.Errorf("after the answer the officer sees %q", stage)
	}

	// A supervisor approves, collection runs, and the package is produced.
	err = chromedp.Do(bctx,
		chromedp.Navigate(base+"/dashboard"),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		signIn(base, p.emails[cases.RoleSupervisor]),
		chromedp.Navigate(base+"/cases/"+caseID),
		chromedp.WaitVisible(chromedp.CSS(`button[name=verdict][value=approve]`)),
		chromedp.Click(chromedp.CSS(`button[name=verdict][value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/cases/`+caseID+`/export"] button`)),
	)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	// One message of the target's, collected on the server's clock (31 s
	// ahead since the sign-in), after the approval opened the window.
	events := fmt.Sprintf(`{"from": "+14155550123", "to": "+14155550999", "at": %q, "kind": "text"}`+"\n", p.db.Now().Add(time.Second).Format(time.RFC3339))
	if w := p.do(cases.RoleCollector, "POST", "/api/v1/collect/events", []byte(events), nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"kept":1`) {
		t.Fatalf("collect: %d %s", w.Code, w.Body)
	}
	err = chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`form[action="/cases/`+caseID+`/export"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#packages td.file a`)),
	)
	if err != nil {
		t.Fatalf("produce: %v", err)
	}

	// The officer is told, downloads over the portal's link and
	// acknowledges receipt.
	text, link = inbox("production ready")
	noCaseDetails(t, text, kase)
	downloads := t.TempDir()
	progress := chromedp.Events(bctx, cdpbrowser.DownloadProgress)
	var shownHash string
	err = chromedp.Do(bctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/agency/download/"]`)),
		into(chromedp.Text(chromedp.CSS(`main td code`)), &shownHash),
		screenshot(t, "agency-delivery"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true)})
			return err
		}),
		chromedp.Click(chromedp.CSS(`a[href^="/agency/download/"]`)),
	)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	checkDownload(t, progress, downloads, shownHash)
	err = chromedp.Do(bctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/acknowledge"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/acknowledge"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatalf("acknowledge: %v", err)
	}

	// The staff case page shows delivered and acknowledged.
	var delivery string
	err = chromedp.Do(bctx,
		chromedp.Navigate(base+"/cases/"+caseID+"#packages"),
		chromedp.WaitVisible(chromedp.CSS(`#packages td.delivery`)),
		into(chromedp.Text(chromedp.CSS(`#packages td.delivery`)), &delivery),
		chromedp.ScrollIntoView(chromedp.CSS(`#thread`)),
		screenshot(t, "staff-agency-thread-delivery"),
		checkPage(t, "case, agency thread and delivery"),
	)
	if err != nil {
		t.Fatalf("staff case page: %v", err)
	}
	if !strings.Contains(delivery, "Delivered") || !strings.Contains(delivery, "acknowledged") {
		t.Errorf("the staff page shows %q, want delivered and acknowledged", delivery)
	}
	for _, action := range []string{"officer.register", "officer.verify", "officer.totp.enrol", "officer.login", "case.create", "case.source",
		"case.document", "case.clarification_request", "case.message", "case.clarification_answer", "case.approve", "case.export",
		"package.announce", "package.download", "package.acknowledge"} {
		if !hasEvent(t, p.db, action, "") {
			t.Errorf("the audit log has no %s", action)
		}
	}
	if n := countEvents(t, p.db, "case", kase.ID, "case.message"); n != 2 {
		t.Errorf("%d messages audited, want 2", n)
	}
}

// checkDownload waits for the browser's download into dir to complete and
// checks that the file saved is a zip with the SHA-256 the page showed.
func checkDownload(t *testing.T, progress iter.Seq2[cdpbrowser.EventDownloadProgress, error], dir, shownHash string) {
	t.Helper()
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State != cdpbrowser.DownloadProgressStateCompleted {
			continue
		}
		zip, err := os.ReadFile(filepath.Join(dir, ev.GUID))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(zip); hex.EncodeToString(sum[:]) != strings.TrimSpace(shownHash) || !bytes.HasPrefix(zip, []byte("PK")) {
			t.Errorf("downloaded %d bytes with sha256 %x; the page shows %s", len(zip), sum, shownHash)
		}
		break
	}
}
