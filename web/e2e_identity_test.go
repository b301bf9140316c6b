package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

// TestE2EForgedEmergency drives the forged-emergency path of issue 12 in a
// real browser: intake logs an emergency from a look-alike of a listed
// agency; the case page and the dashboard say so in plain words; the
// supervisor's approval is refused; a reviewer records a confirmed callback
// on the directory's number; the supervisor approves and produces it.
func TestE2EForgedEmergency(t *testing.T) {
	ctx := browser(t)
	db := storetest.SQLite(t)
	srv := New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	listDirectory(t, db)
	exports := t.TempDir()
	if err := srv.SetExportDirs(filepath.Join(exports, "keys"), filepath.Join(exports, "packages")); err != nil {
		t.Fatal(err)
	}
	users := portalUsers(t, db, cases.RoleIntake, cases.RoleReviewer, cases.RoleSupervisor)
	// The account the forger names has records: what an approval without
	// a callback would have handed over (a production that finds none asks
	// for a confirmation first, issue 16).
	subscriber := `{"kind":"subscriber","account":"+447911123456","name":"J. Doe","email":"jdoe@example.net",` +
		`"created_at":"2024-01-01T00:00:00Z","registration_ip":"203.0.113.5","last_ip":"203.0.113.9"}`
	if _, err := metadata.New(db).Import(context.Background(), strings.NewReader(subscriber), metadata.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := ts.URL
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04") }
	signOut := chromedp.Steps(
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID(`email`)),
	)

	var caseURL, logged, dashboard, refused string
	err := chromedp.Do(ctx,
		signIn(base, users[cases.RoleIntake]),
		chromedp.Navigate(base+"/cases/new"),
		chromedp.WaitVisible(chromedp.CSS(`#agency\.name`)),
		chromedp.SetValue(chromedp.CSS(`#agency\.name`), "Metropolitan Police S\u0435rvice"),
		chromedp.SetValue(chromedp.CSS(`#agency\.country`), "GB"),
		chromedp.SetValue(chromedp.CSS(`#agency\.verified_domains`), "met-police-uk.com"),
		chromedp.SetValue(chromedp.CSS(`#requester\.name`), "DS Alex Morgan"),
		chromedp.SetValue(chromedp.CSS(`#requester\.email`), "alex.morgan@met-police-uk.com"),
		chromedp.SetValue(chromedp.CSS(`#process\.type`), "emergency"),
		chromedp.SetValue(chromedp.CSS(`#emergency\.description`), "Kidnapping in progress; call me on my mobile."),
		chromedp.Click(chromedp.CSS(`#emergency\.imminent_harm`)),
		chromedp.SetValue(chromedp.ID(`target_value_0`), "+447911123456"),
		chromedp.Click(chromedp.ID(`cat_basic_subscriber_info`)),
		chromedp.SetValue(chromedp.CSS(`#window\.from`), at(-7 * 24 * time.Hour)[:10]),
		chromedp.SetValue(chromedp.CSS(`#window\.to`), at(0)[:10]),
		chromedp.Click(chromedp.CSS(`button[value=save]`)),
		chromedp.WaitVisible(chromedp.ID(`h-identity`)),
		into(chromedp.Location(), &caseURL),
		into(chromedp.Text(chromedp.CSS(`main`)), &logged),
		screenshot(t, "case-forged-emergency"),
		checkPage(t, "case, forged emergency"),
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(chromedp.ID(`h-unverified`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &dashboard),
		checkPage(t, "dashboard, unverified emergency"),
		signOut,
	)
	if err != nil {
		t.Fatalf("log: %v", err)
	}
	caseURL = strings.TrimSuffix(caseURL, "?done=created")
	if !regexp.MustCompile(`/cases/\d+$`).MatchString(caseURL) {
		t.Fatalf("case URL %s", caseURL)
	}
	err = chromedp.Do(ctx,
		// The supervisor cannot approve it yet.
		signIn(base, users[cases.RoleSupervisor]),
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.ID(`note`)),
		chromedp.SetValue(chromedp.ID(`note`), "Urgent, approving."),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error[role=alert]`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &refused),
		checkPage(t, "case, approval refused"),
		signOut,
	)
	if err != nil {
		t.Fatalf("refused approval: %v", err)
	}
	for _, want := range []string{"Case logged.", "Look-alike agency", "is not Metropolitan Police Service (GB)", "Unverified emergency",
		"AGENCY-LOOKALIKE", "GLOBAL-REQUESTER", "+442072301212", "domains it claims (not trusted)"} {
		if !strings.Contains(logged, want) {
			t.Errorf("case page lacks %q:\n%s", want, logged)
		}
	}
	if !strings.Contains(dashboard, "look-alike agency") || !strings.Contains(dashboard, "unverified emergency") {
		t.Errorf("dashboard does not mark the case:\n%s", dashboard)
	}
	if !strings.Contains(refused, "cannot be approved yet") {
		t.Errorf("approval was not refused:\n%s", refused)
	}

	// A reviewer calls the directory's number; the agency confirms.
	var called, approved, produced string
	err = chromedp.Do(ctx,
		signIn(base, users[cases.RoleReviewer]),
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/verifications"]`)),
		chromedp.Click(chromedp.CSS(`input[name=outcome][value=confirmed]`)),
		chromedp.SetValue(chromedp.ID(`verify-note`), "DS Morgan confirmed on the Met switchboard."),
		chromedp.Click(chromedp.CSS(`form[action$="/verifications"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &called),
		checkPage(t, "case, callback recorded"),
		signOut,

		signIn(base, users[cases.RoleSupervisor]),
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.ID(`note`)),
		chromedp.SetValue(chromedp.ID(`note`), "Confirmed by callback."),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &approved),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/export"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/export"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#packages td.hash code`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &produced),
		checkPage(t, "case, emergency produced"),
	)
	if err != nil {
		t.Fatalf("callback, approval and export: %v", err)
	}
	if !strings.Contains(called, "Callback recorded.") || !strings.Contains(called, "Confirmed") || !strings.Contains(called, users[cases.RoleReviewer]) {
		t.Errorf("after the callback:\n%s", called)
	}
	if !strings.Contains(approved, "Case approved.") {
		t.Errorf("after approval:\n%s", approved)
	}
	if !strings.Contains(produced, "Disclosure package produced") {
		t.Errorf("after export:\n%s", produced)
	}
	c, err := db.Case(context.Background(), caseURL[strings.LastIndex(caseURL, "/")+1:])
	if err != nil || c.Status != cases.StatusProduced || c.Review.By != users[cases.RoleSupervisor] || len(c.Verifications) != 1 || c.Verifications[0].RecordedBy != users[cases.RoleReviewer] {
		t.Fatalf("stored case: %+v %v", c, err)
	}
}

// portalUsers creates a user for each role, role@example.org, signing in
// with portalPassword, and returns their emails.
func portalUsers(t *testing.T, db *store.DB, roles ...cases.Role) map[cases.Role]string {
	t.Helper()
	passwordOnly(t, db)
	users := map[cases.Role]string{}
	for _, r := range roles {
		email := string(r) + "@example.org"
		if _, _, err := db.CreateUser(context.Background(), "test", email, r); err != nil {
			t.Fatal(err)
		}
		if err := db.SetPassword(context.Background(), "test", email, portalPassword, false); err != nil {
			t.Fatal(err)
		}
		users[r] = email
	}
	return users
}
