package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"envelope/cases"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

// TestE2EOrganisation fills the organisation profile in a real browser as
// an admin: the form saves, the page says so and shows the custodian.
func TestE2EOrganisation(t *testing.T) {
	ctx := browser(t)
	db := storetest.SQLite(t)
	srv := New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	admin := "admin@example.org"
	passwordOnly(t, db)
	if _, _, err := db.CreateUser(context.Background(), "test", admin, cases.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPassword(context.Background(), "test", admin, portalPassword, false); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	var flash string
	err := chromedp.Do(ctx,
		signIn(ts.URL, admin),
		chromedp.Navigate(ts.URL+"/admin/organisation"),
		chromedp.WaitVisible(chromedp.ID(`legal_name`)),
		chromedp.SetValue(chromedp.ID(`legal_name`), "Envelope Messaging, Inc."),
		chromedp.SetValue(chromedp.ID(`address`), "100 Harbor Street, Suite 400\nSan Francisco, CA 94105\nUnited States"),
		chromedp.SetValue(chromedp.ID(`contact_email`), "lers@envelope-messaging.example"),
		chromedp.SetValue(chromedp.ID(`custodian_name`), "Jordan Lee"),
		chromedp.SetValue(chromedp.ID(`custodian_title`), "Custodian of Records"),
		chromedp.SetValue(chromedp.ID(`typed_signature`), "/s/ Jordan Lee"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/organisation"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		into(chromedp.Text(chromedp.CSS(`.flash`)), &flash),
		screenshot(t, "organisation"),
		checkPage(t, "organisation"),
	)
	if err != nil {
		t.Fatalf("organisation: %v", err)
	}
	o, ok, _ := db.Org(context.Background())
	if !ok || o.CustodianName != "Jordan Lee" || o.Paper("US") != "Letter" || flash == "" {
		t.Errorf("saved %+v %v, flash %q", o, ok, flash)
	}
}
