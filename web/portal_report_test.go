package web

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store/storetest"
	"envelope/exporter/report"
)

func TestPortalReport(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	for _, name := range []string{"subpoena.json", "pen_register.json", "emergency.json"} {
		p.create(cases.RoleIntake, name)
	}
	evil := `<script>alert(1)</script>`
	body := strings.Replace(string(fixtureJSON(t, "subpoena.json")), `"country": "us"`, `"country": "GB"`, 1)
	body = strings.Replace(body, "New York County District Attorney", evil, 1)
	if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(body), nil); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	p.srv.Now = func() time.Time { return time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC) }

	// Every reader may open it; the default is the last complete quarter.
	for _, role := range cases.Roles {
		want := http.StatusOK
		if role == cases.RoleCollector {
			want = http.StatusForbidden
		}
		if w := p.page(role, "GET", "/reports", nil); w.Code != want {
			t.Errorf("%s: %d, want %d", role, w.Code, want)
		}
	}
	w := p.page(cases.RoleAuditor, "GET", "/reports", nil)
	page := w.Body.String()
	for _, want := range []string{
		"<title>Transparency report 2026-Q4 · envelope</title>",
		`<option value="2026-Q4" selected>`, `<option value="2027-Q1">2027-Q1 (in progress)`,
		`<svg class="chart country"`, `<title id="country-t">Requests by country</title>`, `<title id="trend-t">`,
		`<th scope="row">US</th>`, "National security (US)", "Pending", "Changes from 2026-Q3",
		`href="/reports/2026-Q4/csv"`, `href="/reports/2026-Q4/pdf"`, `href="/reports/2026-Q4/national-security.csv"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report page lacks %s", want)
		}
	}
	// The trend has eight columns, the country chart one bar per country
	// (GB and US in 2026-Q4).
	if n := strings.Count(page, `<g class="bar current">`) + strings.Count(page, `<g class="bar">`); n != 8+2 {
		t.Errorf("%d bars, want 10", n)
	}
	// No script and no inline style (the CSP allows neither).
	if strings.Contains(page, "<script") || strings.Contains(page, "style=") {
		t.Error("report page has script or inline style")
	}

	// Another period; the figures come from report.Generate.
	w = p.page(cases.RoleReviewer, "GET", "/reports?period=2026-q3", nil)
	r, err := report.Generate(ctx, p.db, report.Period{Year: 2026, Kind: 'Q', N: 3}, p.srv.Now())
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != 200 || len(r.Rows) != 2 || !strings.Contains(w.Body.String(), `<th scope="row">GB</th>`) || !strings.Contains(w.Body.String(), `<option value="2026-Q3" selected>`) {
		t.Fatalf("2026-Q3: %d rows %d\n%s", w.Code, len(r.Rows), w.Body)
	}
	w = p.page(cases.RoleReviewer, "GET", "/reports?period=2019-H1", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `<option value="2019-H1" selected>`) || !strings.Contains(w.Body.String(), "No requests") {
		t.Errorf("an old half year: %d", w.Code)
	}
	w = p.page(cases.RoleReviewer, "GET", "/reports?period="+url.QueryEscape(`2026-Q5"><b>`), nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `aria-invalid="true"`) || strings.Contains(w.Body.String(), "<b>") {
		t.Errorf("bad period: %d", w.Code)
	}

	// Downloads through the session, the same bytes as the report's writers.
	var want bytes.Buffer
	r.WriteCSV(&want)
	w = p.page(cases.RoleIntake, "GET", "/reports/2026-Q3/csv", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" || !bytes.Equal(w.Body.Bytes(), want.Bytes()) ||
		w.Header().Get("Content-Disposition") != `attachment; filename="transparency-report-2026-Q3.csv"` {
		t.Errorf("csv: %d %q", w.Code, w.Header().Get("Content-Disposition"))
	}
	if recs, err := csv.NewReader(w.Body).ReadAll(); err != nil || len(recs) != 3 || recs[0][0] != "period" {
		t.Errorf("csv rows: %v %v", recs, err)
	}
	w = p.page(cases.RoleIntake, "GET", "/reports/2026-Q3/pdf", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(w.Body.Bytes(), []byte("%PDF-")) {
		t.Errorf("pdf: %d", w.Code)
	}
	w = p.page(cases.RoleIntake, "GET", "/reports/2026-Q3/national-security.csv", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "period,country,process,requests,accounts") {
		t.Errorf("national-security csv: %d %s", w.Code, w.Body)
	}
	for shape, head := range map[string]string{"google": "Period Ending,Country/Region,", "meta": "Country,Preservation Requests,",
		"dsa": "Applicability,Service,", "outcomes": "Period Ending,Country/Region,CLDR Territory Code,Legal Process,Requests,"} {
		w = p.page(cases.RoleIntake, "GET", "/reports/2026-Q3/"+shape+".csv", nil)
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), head) || !strings.Contains(w.Header().Get("Content-Disposition"), "2026-Q3-"+shape+".csv") {
			t.Errorf("%s: %d %s", shape, w.Code, w.Body)
		}
	}
	for path, code := range map[string]int{"/reports/2026-Q3/xlsx": 404, "/reports/2026-Q9/csv": 400} {
		if w := p.page(cases.RoleIntake, "GET", path, nil); w.Code != code {
			t.Errorf("%s: %d, want %d", path, w.Code, code)
		}
	}
	if w := p.page(cases.RoleCollector, "GET", "/reports/2026-Q3/csv", nil); w.Code != http.StatusForbidden {
		t.Errorf("collector download: %d", w.Code)
	}
	if w := p.page("", "GET", "/reports/2026-Q3/csv", nil); w.Code != http.StatusSeeOther {
		t.Errorf("signed-out download: %d", w.Code)
	}
}

func TestLastCompleteQuarterAndAxis(t *testing.T) {
	for at, want := range map[string]string{
		"2027-01-01T00:00:00Z": "2026-Q4", "2026-03-31T23:59:59Z": "2025-Q4", "2026-04-01T00:00:00Z": "2026-Q1", "2026-11-23T00:00:00Z": "2026-Q3",
	} {
		now, _ := time.Parse(time.RFC3339, at)
		if got := lastCompleteQuarter(now).String(); got != want {
			t.Errorf("%s: %s, want %s", at, got, want)
		}
	}
	for v, want := range map[int64][2]int64{0: {4, 1}, 3: {3, 1}, 10: {10, 1}, 11: {12, 2}, 37: {40, 5}, 99: {100, 10}, 1234: {1400, 200}} {
		if top, step := niceMax(v); top != want[0] || step != want[1] {
			t.Errorf("niceMax(%d) = %d, %d; want %v", v, top, step, want)
		}
	}
	// More countries than bars: the smallest share one "Other" bar.
	var rows []report.Row
	for _, c := range []string{"AR", "AT", "AU", "BE", "BR", "CA", "CH", "CL", "DE", "DK", "ES", "FI", "FR", "GB", "IE", "IN", "IT", "JP"} {
		rows = append(rows, report.Row{Country: c, Total: report.Counts{Requests: int64(len(rows) + 1)}})
	}
	ch := countryChart(rows)
	if len(ch.Bars) != maxCountryBars || ch.Bars[0].Label != "JP" || ch.Bars[len(ch.Bars)-1].Label != "Other (4)" || ch.Bars[len(ch.Bars)-1].Value != "10" {
		t.Errorf("country chart: %+v", ch.Bars[len(ch.Bars)-1])
	}
}

// The case list sorts by received, due and number, keyset-paged, and the
// headers say which way.
func TestPortalCaseListSort(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	var made []*cases.Case
	for range 2 {
		for _, name := range []string{"subpoena.json", "pen_register.json", "emergency.json"} {
			made = append(made, p.create(cases.RoleIntake, name))
		}
	}
	numbers := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<td><a href="/cases/\d+">([^<]+)</a>`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	w := p.page(cases.RoleAuditor, "GET", "/cases?sort=due&dir=asc", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `aria-sort="ascending"`) || !strings.Contains(w.Body.String(), "Soonest due first") {
		t.Fatalf("sort by due: %d", w.Code)
	}
	// subpoena (due 07-23), emergency (11-21), pen register (11-27); ties by id.
	got := numbers(w.Body.String())
	want := []string{made[0].Number, made[3].Number, made[2].Number, made[5].Number, made[1].Number, made[4].Number}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("due order:\n got %v\nwant %v", got, want)
	}
	// The header links to the reverse order, keeping the filters.
	w = p.page(cases.RoleAuditor, "GET", "/cases?country=US&sort=due&dir=asc", nil)
	if !strings.Contains(w.Body.String(), `href="/cases?country=US&amp;dir=desc&amp;sort=due"`) {
		t.Errorf("reverse link missing:\n%s", w.Body)
	}
	// Paging by cursor visits every case once.
	var all []string
	next := "/cases?sort=received&dir=desc&limit=4"
	for i := 0; next != "" && i < 5; i++ {
		body := p.page(cases.RoleAuditor, "GET", next, nil).Body.String()
		all = append(all, numbers(body)...)
		next = ""
		if m := regexp.MustCompile(`href="(/cases\?[^"]*cursor=[^"]*)" rel="next"`).FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(all) != 6 || all[0] != made[5].Number && all[0] != made[2].Number {
		t.Errorf("received desc pages: %v", all)
	}
	w = p.page(cases.RoleAuditor, "GET", "/cases?sort=number&dir=asc", nil)
	if got := numbers(w.Body.String()); len(got) != 6 || got[0] != made[0].Number {
		t.Errorf("number asc: %v", got)
	}
	for _, bad := range []string{"sort=agency", "sort=due&dir=up", "sort=due&cursor=garbage"} {
		if w := p.page(cases.RoleAuditor, "GET", "/cases?"+bad, nil); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
}

// Titles and labels on the new pages, as on the others.
func TestPortalNewPagesAreAccessible(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	p.create(cases.RoleIntake, "pen_register.json")
	for _, path := range []string{"/reports", "/admin/users", "/admin/agencies", "/admin/agencies/1", "/admin/policy", "/cases?sort=due"} {
		w := p.page(cases.RoleAdmin, "GET", path, nil)
		body := w.Body.String()
		if w.Code != 200 {
			t.Errorf("%s: %d", path, w.Code)
			continue
		}
		checkTitleAndLabels(t, path, body)
	}
}
