package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
	"envelope/exporter"
)

// Hostile input against the web side: SQL injection in every filter, HTML
// injection in every text a user can set, path traversal on every route
// that serves a file, and the size limit of every upload.

// sqlPayloads are what an attacker types into a filter.
var sqlPayloads = []string{
	`' OR 1=1 --`, `' OR '1'='1`, `"; DROP TABLE cases; --`, `1; DELETE FROM users`, `1) OR (1=1`,
	`%`, `_`, `%%`, `*`, `\`, `'`, `%' OR '%'='`, `LR-2026-%`, `LR-2026-00000_`,
	`ünïcödé 日本語 🙂`, "\u202eRTL", "nul\x00byte", "bad\xffutf8", strings.Repeat("A", 3000),
}

// tableCounts counts the rows of the tables an injection would go for.
func tableCounts(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"cases", "users", "api_tokens", "sessions", "audit_events", "agencies", "case_terms"} {
		var n int
		if err := db.Reader().Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
			t.Fatalf("table %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// Every filter of the API's and the portal's case lists, and the report
// routes, answer an injection attempt with a 400 naming the field or with
// the right (empty) result; the tables are all still there, unchanged.
func TestSQLInjectionInFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		for _, name := range []string{"subpoena.json", "pen_register.json", "emergency.json"} {
			p.create(cases.RoleIntake, name)
		}
		before := tableCounts(t, db)
		// The filters work, so an empty answer below means something.
		for q, want := range map[string]int{"q=reyes": 1, "q=LR-2026": 3, "process=emergency": 1, "country=gb": 1} {
			var page struct{ Cases []cases.Case }
			if w := p.do(cases.RoleAuditor, "GET", "/api/v1/cases?"+q, nil, &page); w.Code != 200 || len(page.Cases) != want {
				t.Fatalf("control %s: %d, %d cases, want %d", q, w.Code, len(page.Cases), want)
			}
		}
		apiFilters := []string{"status", "country", "process", "q", "assignee", "due_before", "due_after", "after", "limit"}
		portalFilters := append(slices.Clone(apiFilters), "due", "sort", "dir", "cursor", "cursor-number")
		for _, payload := range sqlPayloads {
			for _, param := range apiFilters {
				path := "/api/v1/cases?" + url.Values{param: {payload}}.Encode()
				var ans struct {
					Cases  []cases.Case
					Fields map[string]string
				}
				w := p.do(cases.RoleAuditor, "GET", path, nil, &ans)
				switch {
				case w.Code == http.StatusBadRequest && ans.Fields[param] != "":
				case w.Code == http.StatusOK && len(ans.Cases) == 0:
				default:
					t.Errorf("API %s=%q: %d with %d cases: %.200s", param, payload, w.Code, len(ans.Cases), w.Body)
				}
			}
			for _, param := range portalFilters {
				path := "/cases?" + url.Values{param: {payload}}.Encode()
				switch param {
				case "cursor": // a time when sorted by due date, a case number by number
					path += "&sort=due"
				case "cursor-number":
					path, param = "/cases?sort=number&"+url.Values{"cursor": {payload}}.Encode(), "cursor"
				}
				w := p.page(cases.RoleAuditor, "GET", path, nil)
				rows := strings.Count(w.Body.String(), `<td><a href="/cases/`)
				switch {
				case w.Code == http.StatusBadRequest && (strings.Contains(w.Body.String(), "field-error") || strings.Contains(w.Body.String(), param+": ")):
				case w.Code == http.StatusOK && rows == 0:
				case w.Code == http.StatusOK && (param == "sort" || param == "dir") && rows == 3:
				default:
					t.Errorf("portal %s=%q: %d with %d rows", param, payload, w.Code, rows)
				}
			}
			// The report: the period and the country of its explanation.
			esc := url.PathEscape(payload)
			for _, path := range []string{"/api/v1/reports/" + esc, "/api/v1/reports/2026-Q3/countries/" + esc + "/cases",
				"/api/v1/reports/" + esc + "/countries/US/cases"} {
				w := p.do(cases.RoleAuditor, "GET", path, nil, nil)
				if w.Code != http.StatusBadRequest && w.Code != http.StatusNotFound {
					t.Errorf("%s: %d %.200s", path, w.Code, w.Body)
				}
			}
			if w := p.page(cases.RoleAuditor, "GET", "/reports?"+url.Values{"period": {payload}}.Encode(), nil); w.Code != http.StatusBadRequest {
				t.Errorf("portal report period %q: %d", payload, w.Code)
			}
			if w := p.page(cases.RoleAuditor, "GET", "/reports/"+esc+"/csv", nil); w.Code != http.StatusBadRequest && w.Code != http.StatusNotFound {
				t.Errorf("portal report download %q: %d", payload, w.Code)
			}
		}
		if after := tableCounts(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("tables changed: before %v, after %v", before, after)
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// xssPayloads are what an attacker puts in any text a page may show.
var xssPayloads = []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `javascript:alert(1)`}

var scriptURL = regexp.MustCompile(`(?i)(href|src|action|formaction)\s*=\s*["']?\s*javascript:`)

// checkEscaped fails if body holds a payload as markup rather than text.
func checkEscaped(t *testing.T, what, body string) {
	t.Helper()
	for _, raw := range []string{"<script>alert(1)", "<img src=x", `"><img`, "'><img"} {
		if strings.Contains(body, raw) {
			t.Errorf("%s renders %q unescaped", what, raw)
		}
	}
	if m := scriptURL.FindString(body); m != "" {
		t.Errorf("%s has a javascript: URL: %s", what, m)
	}
}

// How the first two payloads read once escaped.
const (
	escapedScript = "&lt;script&gt;alert(1)&lt;/script&gt;"
	escapedImg    = "&lt;img src=x onerror=alert(1)&gt;"
)

// hostileRequest is a request with a payload in every free-text field.
func hostileRequest(t *testing.T, name string) []byte {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(fixtureJSON(t, name), &r); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(xssPayloads, " ")
	r["agency"].(map[string]any)["name"] = all
	r["requester"].(map[string]any)["name"] = all
	proc := r["process"].(map[string]any)
	proc["issuing_authority"], proc["reference"] = all, xssPayloads[2]
	if e, ok := r["emergency"].(map[string]any); ok {
		e["description"] = all
	}
	r["targets"] = append(r["targets"].([]any), map[string]any{"kind": "username", "value": xssPayloads[0]})
	b, _ := json.Marshal(r)
	return b
}

// No text a user can set reaches a page as markup: request fields, notes,
// review notes, document file names, agency names and domains, user
// emails, policy files and their names, sign-in and filter input. Each page
// is checked to show the escaped text too, so the check cannot pass by the
// text not being shown.
func TestHTMLInjectionIsEscaped(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	all := strings.Join(xssPayloads, " ")
	ids := map[string]string{}
	for _, name := range []string{"subpoena.json", "emergency.json"} {
		var c cases.Case
		if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", hostileRequest(t, name), &c); w.Code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, w.Code, w.Body)
		}
		ids[name] = itoa(c.ID)
	}
	sub := "/cases/" + ids["subpoena.json"]
	api := "/api/v1" + sub
	for _, call := range []struct{ method, path, body string }{
		{"POST", api + "/notes", `{"body": ` + jsonString(all) + `}`},
		{"POST", api + "/reject", `{"reason": ` + jsonString(all) + `}`},
	} {
		if w := p.do(cases.RoleReviewer, call.method, call.path, []byte(call.body), nil); w.Code >= 300 {
			t.Fatalf("%s %s: %d %s", call.method, call.path, w.Code, w.Body)
		}
	}
	req := httptest.NewRequest("PUT", api+"/document?filename="+url.QueryEscape(xssPayloads[1]+".pdf"), strings.NewReader("%PDF-1.4\n%%EOF\n"))
	req.Header.Set("Authorization", "Bearer "+p.tokens[cases.RoleIntake])
	req.Header.Set("Content-Type", "application/pdf")
	w := httptest.NewRecorder()
	p.srv.ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	// The file name also goes out in a header: quoted, on one line.
	dl := p.page(cases.RoleAuditor, "GET", sub+"/document", nil)
	if cd := dl.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="`) || strings.Count(cd, `"`) != 2 {
		t.Errorf("Content-Disposition: %q", cd)
	}
	// An admin lists an agency whose name holds the payloads (logging a
	// case never adds one).
	listed, err := p.db.CreateAgency(ctx, cases.System, store.AgencyEntry{Agency: cases.Agency{Name: all, Country: "US",
		VerifiedDomains: []string{"example.gov"}}, Phone: "+12025550100", Aliases: []string{xssPayloads[1]}})
	if err != nil {
		t.Fatal(err)
	}
	list := []*store.AgencyEntry{listed}

	type page struct {
		role         cases.Role
		method, path string
		form         url.Values
		showsText    bool // the page shows a payload: it must appear escaped
	}
	pages := []page{
		{cases.RoleSupervisor, "GET", "/dashboard", nil, true},
		{cases.RoleAuditor, "GET", "/cases", nil, true},
		{cases.RoleAuditor, "GET", "/cases?q=" + url.QueryEscape(all), nil, true},
		{cases.RoleAuditor, "GET", "/cases?assignee=" + url.QueryEscape(all), nil, false}, // in the sort links only
		{cases.RoleAuditor, "GET", "/cases?status=" + url.QueryEscape(all), nil, true},
		{cases.RoleAuditor, "GET", sub, nil, true},
		{cases.RoleAuditor, "GET", "/cases/" + ids["emergency.json"], nil, true},
		{cases.RoleAuditor, "GET", "/cases/" + url.PathEscape(xssPayloads[1]), nil, true},
		{cases.RoleReviewer, "POST", sub + "/review", url.Values{"verdict": {all}, "note": {all}}, true},
		{cases.RoleIntake, "POST", sub + "/notes", url.Values{"body": {""}}, true},
		{cases.RoleIntake, "POST", "/cases/new", hostileIntake(), true},
		{cases.RoleAdmin, "GET", "/admin/agencies", nil, true},
		{cases.RoleAdmin, "GET", "/admin/agencies/" + itoa(list[0].ID), nil, true},
		{cases.RoleAdmin, "POST", "/admin/agencies", url.Values{"name": {all}, "country": {all}, "verified_domains": {all}}, true},
		{cases.RoleAdmin, "POST", "/admin/users", url.Values{"email": {xssPayloads[0] + "@example.org"}, "role": {all}}, true},
		{cases.RoleAdmin, "GET", "/admin/users", nil, false},
		{cases.RoleAuditor, "GET", "/reports?period=" + url.QueryEscape(all), nil, true},
		{cases.RoleAuditor, "GET", "/reports?period=2026-Q3", nil, false},
		{"", "GET", "/login?next=" + url.QueryEscape(all), nil, false},
		{"", "POST", "/login", url.Values{"email": {all}, "password": {"x"}, "next": {all}}, true},
	}
	for _, pg := range pages {
		w := p.page(pg.role, pg.method, pg.path, pg.form)
		what := pg.method + " " + pg.path
		if w.Code >= 500 || w.Code == http.StatusSeeOther {
			t.Errorf("%s: %d", what, w.Code)
			continue
		}
		checkEscaped(t, what, w.Body.String())
		if pg.showsText && !strings.Contains(w.Body.String(), escapedScript) && !strings.Contains(w.Body.String(), escapedImg) {
			t.Errorf("%s does not show the escaped text: the check proves nothing\n%s", what, w.Body)
		}
	}

	// Policy files: a file that does not load is answered with its
	// problems (which quote it), one that loads is replayed and, once
	// activated, shown as the source in force.
	bad := []byte("targets:\n  max: " + xssPayloads[0] + "\n  " + xssPayloads[1] + ": [" + xssPayloads[2] + "]\n")
	good := append([]byte("# "+all+"\n"), defaultPolicyYAML(t)...)
	for _, content := range [][]byte{bad, good} {
		w := p.policyUpload(xssPayloads[1]+".yaml", content)
		checkEscaped(t, "policy upload", w.Body.String())
		if !strings.Contains(w.Body.String(), "&gt;.yaml") {
			t.Errorf("policy upload page does not show the file name")
		}
	}
	if w := p.do(cases.RoleAdmin, "PUT", "/api/v1/policy", good, nil); w.Code != http.StatusOK {
		t.Fatalf("activate: %d %s", w.Code, w.Body)
	}
	w = p.page(cases.RoleAuditor, "GET", "/admin/policy", nil)
	checkEscaped(t, "policy page", w.Body.String())
	if !strings.Contains(w.Body.String(), escapedScript) {
		t.Error("the policy page does not show the source in force")
	}
}

// hostileIntake is the intake form with a payload in every text field.
func hostileIntake() url.Values {
	v := intakeValues("check")
	all := strings.Join(xssPayloads, " ")
	for _, k := range []string{"agency.name", "agency.verified_domains", "requester.name", "requester.email", "requester.phone",
		"process.issuing_authority", "process.reference", "emergency.description", "process.issued_at", "window.from"} {
		v.Set(k, all)
	}
	v["target_value"] = []string{xssPayloads[0], xssPayloads[1], xssPayloads[2]}
	v["target_kind"] = []string{"username", all, "phone"}
	v.Set("process.type", all)
	return v
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func defaultPolicyYAML(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../policy/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// traversals are ways to name a file outside the one a route serves.
var traversals = []string{
	"..%2F..%2Fsecret.txt", "..%2fkeys%2f" + exporter.PrivateKeyFile, "%2e%2e%2fsecret.txt", "%2e%2e%2F%2e%2e%2Fsecret.txt",
	"..%5C..%5Csecret.txt", "%252e%252e%252fsecret.txt", "..%252f..%252fsecret.txt", "....%2F%2Fsecret.txt",
	"%2Fetc%2Fpasswd", "%2F%2Fetc%2Fpasswd", "secret.txt%00.zip", "..", "%2e%2e", ".%2e", "~%2F.ssh",
}

// No route that serves a file serves one outside its own store: the
// package download (by name), the document downloads (by case), and the
// static files, whatever the path.
func TestPathTraversal(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	f := newFixture(t, storetest.SQLite(t))
	p := &portal{fixture: f, sessions: map[cases.Role]string{}}
	if err := f.srv.SetExportDirs(filepath.Join(data, "keys"), filepath.Join(data, "packages")); err != nil {
		t.Fatal(err)
	}
	const secret = "SECRET-OUTSIDE-THE-PACKAGES"
	for _, path := range []string{filepath.Join(root, "secret.txt"), filepath.Join(data, "secret.txt")} {
		if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := f.create(cases.RoleIntake, "subpoena.json")
	if w := f.do(cases.RoleReviewer, "POST", "/api/v1/cases/"+itoa(c.ID)+"/approve", []byte(`{}`), nil); w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+itoa(c.ID)+"/notice", []byte(`{"kind":"sent","method":"e-mail"}`), nil); w.Code != http.StatusCreated {
		t.Fatalf("notice: %d %s", w.Code, w.Body)
	}
	var pkg struct{ Package, URL string }
	if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases/"+itoa(c.ID)+"/export", nil, &pkg); w.Code != http.StatusCreated {
		t.Fatalf("export: %d %s", w.Code, w.Body)
	}
	// A genuine download works, so a refusal below is not a broken route.
	if w := f.do(cases.RoleAuditor, "GET", pkg.URL, nil, nil); w.Code != 200 || !bytes.HasPrefix(w.Body.Bytes(), []byte("PK")) {
		t.Fatalf("genuine download: %d", w.Code)
	}
	u, _ := p.db.UserByEmail(ctx, f.emails[cases.RoleAuditor])
	p.sessions[cases.RoleAuditor], _ = p.db.CreateSession(ctx, u.ID)
	forbidden := []string{secret, "PRIVATE KEY", "root:", "{{define", "module envelope", "package web"}
	check := func(who, path string, w *httptest.ResponseRecorder) {
		t.Helper()
		for _, s := range forbidden {
			if strings.Contains(w.Body.String(), s) {
				t.Errorf("%s %s served %q (%d)", who, path, s, w.Code)
			}
		}
		if w.Code == http.StatusOK && !strings.HasPrefix(path, "/static/") {
			t.Errorf("%s %s: 200", who, path)
		}
	}
	base := "/api/v1/cases/" + itoa(c.ID) + "/exports/"
	for _, tr := range traversals {
		for _, path := range []string{
			base + tr, base + tr + ".zip", base + pkg.Package + "%2F..%2F..%2Fsecret.txt", "/api/v1/cases/" + tr + "/exports/" + pkg.Package,
			"/api/v1/cases/" + tr + "/document", "/api/v1/cases/" + itoa(c.ID) + "%2F" + tr + "/document",
		} {
			check("API", path, f.do(cases.RoleAuditor, "GET", path, nil, nil))
		}
		for _, path := range []string{"/cases/" + tr + "/document", "/cases/" + itoa(c.ID) + "%2F" + tr + "/document", "/reports/2026-Q3/" + tr} {
			check("portal", path, p.page(cases.RoleAuditor, "GET", path, nil))
		}
		for _, rest := range []string{tr, tr + "%2Ftemplates%2Flayout.html", tr + "%2F..%2Fgo.mod", tr + "/templates/layout.html"} {
			path := "/static/" + rest
			check("static", path, p.page("", "GET", path, nil))
		}
	}
	for _, path := range []string{"/static/../templates/layout.html", "/static/%2e%2e/portal.go", "/static//etc/passwd", "/static/portal.css/../../go.mod"} {
		check("static", path, p.page("", "GET", path, nil))
	}
	if w := p.page("", "GET", "/static/portal.css", nil); w.Code != 200 {
		t.Errorf("the style sheet itself: %d", w.Code)
	}
}

// Every upload is bounded: one byte over the limit is refused with 413 (or
// the form's own message) and nothing is stored.
func TestUploadLimits(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	c := p.create(cases.RoleIntake, "subpoena.json")
	id := itoa(c.ID)
	pdf := append([]byte("%PDF-1.7\n"), make([]byte, cases.MaxDocumentSize-8)...) // one byte over
	yaml := append(defaultPolicyYAML(t), bytes.Repeat([]byte("#"), MaxBodySize)...)
	form := func(field, name string, content []byte, fields url.Values) (*bytes.Buffer, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, vs := range fields {
			for _, v := range vs {
				mw.WriteField(k, v)
			}
		}
		fw, _ := mw.CreateFormFile(field, name)
		fw.Write(content)
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	api := func(method, path, ctype string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p.tokens[cases.RoleAdmin])
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		p.srv.ServeHTTP(w, req)
		return w
	}
	docForm, docType := form("document", "order.pdf", pdf, nil)
	intakeForm, intakeType := form("document", "order.pdf", pdf, intakeValues("save"))
	policyForm, policyType := form("policy", "big.yaml", yaml, nil)
	version := p.srv.Policy().Version()
	for _, tt := range []struct {
		name string
		send func() *httptest.ResponseRecorder
		want int
		says string
	}{
		{"API document, raw", func() *httptest.ResponseRecorder {
			return api("PUT", "/api/v1/cases/"+id+"/document", "application/pdf", pdf)
		}, 413, "document"},
		{"API document, form", func() *httptest.ResponseRecorder {
			return api("PUT", "/api/v1/cases/"+id+"/document", docType, bytes.Clone(docForm.Bytes()))
		}, 413, "document"},
		{"API request body", func() *httptest.ResponseRecorder {
			return api("POST", "/api/v1/cases", "application/json", append([]byte(`{"agency":{"name":"`), make([]byte, MaxBodySize)...))
		}, 413, "body"},
		{"API policy", func() *httptest.ResponseRecorder { return api("PUT", "/api/v1/policy", "application/yaml", yaml) }, 413, "body"},
		{"API policy replay", func() *httptest.ResponseRecorder {
			return api("POST", "/api/v1/policy/replay", "application/yaml", yaml)
		}, 413, "body"},
		{"portal document", func() *httptest.ResponseRecorder {
			return p.post(cases.RoleIntake, "/cases/"+id+"/document", bytes.NewBuffer(bytes.Clone(docForm.Bytes())), docType)
		}, 413, "larger than 20 MiB"},
		{"portal intake with document", func() *httptest.ResponseRecorder {
			return p.post(cases.RoleIntake, "/cases/new", intakeForm, intakeType)
		}, 413, "larger than 20 MiB"},
		{"portal policy upload", func() *httptest.ResponseRecorder {
			return p.post(cases.RoleAdmin, "/admin/policy/replay", policyForm, policyType)
		}, 400, "larger than 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.send()
			if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.says) {
				t.Errorf("%d, want %d saying %q: %.300s", w.Code, tt.want, tt.says, w.Body)

			}
		})
	}
	if got, _ := p.db.Case(ctx, id); got.Document != nil {
		t.Error("an oversized document was stored")
	}
	if n, _ := p.db.CountCases(ctx); n != 1 {
		t.Errorf("%d cases: an oversized intake was stored", n)
	}
	if p.srv.Policy().Version() != version {
		t.Error("an oversized policy was put in force")
	}
}

// Text PostgreSQL cannot store (a NUL, bytes that are not UTF-8) sent to
// every route that writes text is refused naming the field, or stored
// cleaned: never a 500, and on both engines alike.
func TestUnstorableTextIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPortal(t, db)
		c := p.create(cases.RoleIntake, "subpoena.json")
		id := itoa(c.ID)
		for _, bad := range []string{"nul\x00byte", "bad\xffutf8"} {
			js := jsonString(bad)
			for _, field := range []string{`"ADA Priya Shah"`, `"New York County District Attorney"`, `"GJ-2026-0117"`,
				`"Grand Jury, New York County"`, `"acc_9f8e7d6c"`} {
				req := strings.Replace(string(fixtureJSON(t, "subpoena.json")), field, js, 1)
				for _, path := range []string{"/api/v1/cases", "/api/v1/policy/check"} {
					if w := p.do(cases.RoleIntake, "POST", path, []byte(req), nil); w.Code >= 500 {
						t.Errorf("POST %s with %q for %s: %d %s", path, bad, field, w.Code, w.Body)
					}
				}
			}
			emergency := strings.Replace(string(fixtureJSON(t, "emergency.json")), `"Credible threat`, js[:len(js)-1]+`Credible threat`, 1)
			if w := p.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(emergency), nil); w.Code >= 500 {
				t.Errorf("emergency description with %q: %d %s", bad, w.Code, w.Body)
			}
			for _, call := range []struct {
				role         cases.Role
				method, path string
				body         string
			}{
				{cases.RoleIntake, "POST", "/api/v1/cases/" + id + "/notes", `{"body": ` + js + `}`},
				{cases.RoleIntake, "POST", "/api/v1/cases/" + id + "/assign", `{"assignee": ` + js + `}`},
				{cases.RoleSupervisor, "POST", "/api/v1/cases/" + id + "/reject", `{"reason": ` + js + `}`},
				{cases.RoleIntake, "POST", "/api/v1/cases/" + id + "/close", `{"reason": ` + js + `}`},
			} {
				if w := p.do(call.role, call.method, call.path, []byte(call.body), nil); w.Code >= 500 {
					t.Errorf("%s %s with %q: %d %s", call.method, call.path, bad, w.Code, w.Body)
				}
			}
			for _, path := range []string{"/api/v1/cases/" + url.PathEscape(bad), "/api/v1/cases/" + url.PathEscape(bad) + "/document"} {
				if w := p.do(cases.RoleAuditor, "GET", path, nil, nil); w.Code != http.StatusNotFound {
					t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
				}
			}
			if w := p.page(cases.RoleAuditor, "GET", "/cases/"+url.PathEscape(bad), nil); w.Code != http.StatusNotFound {
				t.Errorf("portal case %q: %d", bad, w.Code)
			}
			put := httptest.NewRequest("PUT", "/api/v1/cases/"+id+"/document?filename="+url.QueryEscape(bad+".pdf"), strings.NewReader("%PDF-1.4\n"))
			put.Header.Set("Authorization", "Bearer "+p.tokens[cases.RoleIntake])
			w := httptest.NewRecorder()
			p.srv.ServeHTTP(w, put)
			if w.Code >= 500 {
				t.Errorf("document named %q: %d %s", bad, w.Code, w.Body)
			}
			for _, post := range []struct {
				role cases.Role
				path string
				form url.Values
			}{
				{cases.RoleIntake, "/cases/" + id + "/notes", url.Values{"body": {bad}}},
				{cases.RoleSupervisor, "/cases/" + id + "/review", url.Values{"verdict": {"reject"}, "note": {bad}}},
				{cases.RoleAdmin, "/admin/agencies", url.Values{"name": {bad}, "country": {"US"}, "verified_domains": {"fbi.gov"}}},
				{cases.RoleAdmin, "/admin/agencies", url.Values{"name": {"FBI"}, "country": {bad}, "verified_domains": {bad}}},
				{cases.RoleAdmin, "/admin/users", url.Values{"email": {bad + "@example.org"}, "role": {"intake"}}},
				{"", "/login", url.Values{"email": {bad}, "password": {bad}}},
				{cases.RoleIntake, "/password", url.Values{"current": {bad}, "password": {bad + "-long-enough"}, "confirm": {bad + "-long-enough"}}},
			} {
				if w := p.page(post.role, "POST", post.path, post.form); w.Code >= 500 {
					t.Errorf("POST %s with %q: %d", post.path, bad, w.Code)
				}
			}
			intake := intakeValues("save")
			for _, k := range []string{"agency.name", "requester.name", "process.issuing_authority", "process.reference"} {
				intake.Set(k, bad)
			}
			body, ctype := multipartForm(t, intake, bad+".pdf", []byte("%PDF-1.4\n"))
			if w := p.post(cases.RoleIntake, "/cases/new", body, ctype); w.Code >= 500 {
				t.Errorf("intake with %q: %d", bad, w.Code)
			}
		}
	})
}

// A date whose offset carries it past year 9999 (or before year 0) in UTC
// is an input error naming the field, not a case that cannot be stored or
// written back as JSON.
func TestDatesBeyondRFC3339Refused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		due := regexp.MustCompile(`"due_at": *"[^"]*"`)
		for _, at := range []string{"9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+00:01"} {
			body := due.ReplaceAllString(string(fixtureJSON(t, "subpoena.json")), `"due_at": "`+at+`"`)
			var ans struct{ Fields map[string]string }
			if w := f.do(cases.RoleIntake, "POST", "/api/v1/cases", []byte(body), &ans); w.Code != http.StatusBadRequest || ans.Fields["due_at"] == "" {
				t.Errorf("due_at %s: %d %s", at, w.Code, w.Body)
			}
		}
		if n, _ := db.CountCases(ctx); n != 0 {
			t.Errorf("%d cases stored", n)
		}
	})
}

// The static files are served one by one, never listed; API answers tell
// the browser not to sniff them as anything but what they say.
func TestStaticNotListedAndAPINotSniffed(t *testing.T) {
	p := newPortal(t, storetest.SQLite(t))
	for _, path := range []string{"/static/", "/static"} {
		w := p.page("", "GET", path, nil)
		if w.Code == http.StatusOK || strings.Contains(w.Body.String(), "portal.css") {
			t.Errorf("GET %s: %d, lists the directory: %q", path, w.Code, w.Body.String())
		}
	}
	if w := p.page("", "GET", "/static/portal.css", nil); w.Code != http.StatusOK {
		t.Errorf("style sheet: %d", w.Code)
	}
	for _, role := range []cases.Role{"", cases.RoleAuditor} {
		if w := p.do(role, "GET", "/api/v1/cases", nil, nil); w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("API answer (role %q, %d) without nosniff", role, w.Code)
		}
	}
}
