package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"envelope/cases"
	"envelope/cases/store/storetest"
	"envelope/policy"
)

// TestE2ETimeZones reads deadlines in a real browser: an EU emergency
// production order received 09:30 UTC is due 8 hours later, shown to the
// hour with its zone on the dashboard and the case page, in the
// organisation's zone (Paris: 18:30 CET); once the reader sets their own
// zone on "Your settings" (New York), in theirs (12:30 EST).
func TestE2ETimeZones(t *testing.T) {
	bctx := browser(t)
	db := storetest.SQLite(t)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	srv := New(db, policy.Default(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Now = db.Now
	bg := context.Background()
	if err := db.SetOrgZone(bg, "test", "Europe/Paris"); err != nil {
		t.Fatal(err)
	}
	listDirectory(t, db)
	intake, reader := "intake@example.org", "auditor@example.org"
	for email, role := range map[string]cases.Role{intake: cases.RoleIntake, reader: cases.RoleAuditor} {
		if _, _, err := db.CreateUser(bg, "test", email, role); err != nil {
			t.Fatal(err)
		}
		if err := db.SetPassword(bg, "test", email, portalPassword, false); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := db.CreateToken(bg, "test", intake)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/cases", bytes.NewReader(euProduction(`,"emergency":{"description":"a hostage taking","imminent_harm":true}`)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var c cases.Case
	json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || c.Deadline == nil || c.Deadline.Rule != "EU-EPOC-EMERGENCY" {
		t.Fatalf("create: %d %+v", resp.StatusCode, c.Deadline)
	}

	row := `//tr[.//a[contains(., "` + c.Number + `")]]`
	// read keeps the case's dashboard row and its page as they read.
	read := func(dash, page *string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(ts.URL+"/dashboard"),
			chromedp.WaitVisible(chromedp.Search(row)),
			into(chromedp.Text(chromedp.Search(row)), dash),
			chromedp.Navigate(ts.URL+"/cases/"+itoa(c.ID)),
			chromedp.WaitVisible(chromedp.CSS(`main h1`)),
			into(chromedp.Text(chromedp.CSS(`main`)), page),
		)
	}
	var dash, page, dashMine, pageMine string
	err = chromedp.Do(bctx,
		signIn(ts.URL, reader),
		read(&dash, &page),
		screenshot(t, "deadline-org-zone"),
		chromedp.Navigate(ts.URL+"/profile"),
		chromedp.WaitVisible(chromedp.ID(`time_zone`)),
		chromedp.SetValue(chromedp.ID(`time_zone`), "America/New_York"),
		chromedp.Click(chromedp.CSS(`form[action="/profile"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		read(&dashMine, &pageMine),
		screenshot(t, "deadline-own-zone"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	for name, got := range map[string][2]string{
		"dashboard, organisation's zone": {dash, "2026-11-20 18:30 CET"},
		"case page, organisation's zone": {page, "2026-11-20 18:30 CET"},
		"dashboard, own zone":            {dashMine, "2026-11-20 12:30 EST"},
		"case page, own zone":            {pageMine, "2026-11-20 12:30 EST"},
	} {
		if !strings.Contains(got[0], got[1]) {
			t.Errorf("%s: %q lacks %q", name, got[0], got[1])
		}
	}
}
