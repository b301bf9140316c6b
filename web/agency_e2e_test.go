package web

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"envelope/cases/store/storetest"
	"envelope/policy"
)

// TestE2EAgencyPortal drives the agency portal in headless Chromium: an
// officer registers, opens the emailed link, enrols TOTP, signs out, signs
// in with password and code, and submits a request with its PDF.
func TestE2EAgencyPortal(t *testing.T) {
	bctx := browser(t)
	box := &mailbox{}
	db := storetest.SQLite(t)
	srv := New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.AgencyMail = box
	listDirectory(t, db)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := ts.URL
	fbi := agencyID(t, db, "Federal Bureau of Investigation")
	pdf := filepath.Join(t.TempDir(), "subpoena.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n% grand jury subpoena\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
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
	m := regexp.MustCompile(`http://\S+/agency/verify\?token=\S+`).FindString(box.last())
	if m == "" {
		t.Fatalf("no link mailed: %q", box.last())
	}
	var secret, casesText, caseText string
	err = chromedp.Do(bctx,
		chromedp.Navigate(m),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/verify"] button`)),
		checkPage(t, "agency verify"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/verify"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "kim@fbi.gov"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form[action="/agency/login"] button`)),
		chromedp.WaitVisible(chromedp.ID(`totp-secret`)),
		screenshot(t, "agency-totp"),
		checkPage(t, "agency enrol"),
		into(chromedp.Text(chromedp.ID(`totp-secret`)), &secret),
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
	realNow := db.Now
	db.Now = func() time.Time { return realNow().Add(31 * time.Second) }
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS(`input[name=code]`), code(realNow())),
		chromedp.Click(chromedp.CSS(`form[action="/agency/totp"] button`)),
		// The enrolment page has the sign-out form too: wait until it has
		// gone, or the click below can land on a page being replaced.
		chromedp.WaitNotPresent(chromedp.ID(`totp-secret`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/logout"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/agency/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/login"]`)),
		checkPage(t, "agency signed out"),
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "kim@fbi.gov"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), password),
		chromedp.SetValue(chromedp.CSS(`input[name=code]`), code(db.Now())),
		screenshot(t, "agency-login"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/logout"]`)),
		chromedp.Navigate(base+"/agency/cases/new"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/agency/cases/new"]`)),
		checkPage(t, "agency submit"),
		chromedp.SetValue(chromedp.CSS(`select[name="process.type"]`), "subpoena"),
		chromedp.SetValue(chromedp.CSS(`input[name="process.issuing_authority"]`), "Grand Jury, D.D.C."),
		chromedp.SetValue(chromedp.CSS(`input[name="process.reference"]`), "GJ-2026-88"),
		chromedp.SetValue(chromedp.CSS(`select[name=target_kind]`), "account_id"),
		chromedp.SetValue(chromedp.CSS(`input[name=target_value]`), "acc_9f8e7d6c"),
		chromedp.Click(chromedp.CSS(`input[value=basic_subscriber_info]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=document]`), []string{pdf}),
		screenshot(t, "agency-submit"),
		chromedp.Click(chromedp.CSS(`form[action="/agency/cases/new"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID(`stage`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &caseText),
		screenshot(t, "agency-case"),
		checkPage(t, "agency case submitted"),
		chromedp.Navigate(base+"/agency/cases"),
		chromedp.WaitVisible(chromedp.CSS(`table`)),
		checkPage(t, "agency case list"),
		into(chromedp.Text(chromedp.CSS(`main`)), &casesText),
	)
	if err != nil {
		t.Fatalf("enrol, sign in, submit: %v", err)
	}
	for _, want := range []string{"Your request was received.", "Received", "GJ-2026-88"} {
		if !strings.Contains(caseText, want) {
			t.Errorf("status page lacks %q:\n%s", want, caseText)
		}
	}
	if !strings.Contains(casesText, "GJ-2026-88") {
		t.Errorf("the list lacks the request:\n%s", casesText)
	}
}
