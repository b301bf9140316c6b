package web

import (
	"html/template"
	"strings"
	"testing"

	"envelope/cases"
)

// The templates that mainNav, optionTags and sortHead replaced, as they
// were: the Go-written parts must write what html/template wrote from
// them, byte for byte, for every role, page and sort state.
const (
	navTemplate = `<nav aria-label="Main">
    <a href="/dashboard"{{if eq $.Path "/dashboard"}} aria-current="page"{{end}}>Dashboard</a>
    <a href="/cases"{{if eq $.Path "/cases"}} aria-current="page"{{end}}>Cases</a>
    <a href="/workload"{{if eq $.Path "/workload"}} aria-current="page"{{end}}>Workload</a>
    <a href="/notices"{{if eq $.Path "/notices"}} aria-current="page"{{end}}>Notices</a>
    {{if canLog .User}}<a href="/cases/new"{{if eq $.Path "/cases/new"}} aria-current="page"{{end}}>Log a request</a>{{end}}
    <a href="/reports"{{if eq $.Path "/reports"}} aria-current="page"{{end}}>Report</a>
    {{if isAdmin .User}}<a href="/admin/users"{{if eq $.Path "/admin/users"}} aria-current="page"{{end}}>Users</a>
    <a href="/admin/settings"{{if eq $.Path "/admin/settings"}} aria-current="page"{{end}}>Settings</a>{{end}}
    {{if canAudit .User}}<a href="/admin/agencies"{{if eq $.Path "/admin/agencies"}} aria-current="page"{{end}}>Agencies</a>
    <a href="/admin/policy"{{if eq $.Path "/admin/policy"}} aria-current="page"{{end}}>Policy</a>
    <a href="/admin/organisation"{{if eq $.Path "/admin/organisation"}} aria-current="page"{{end}}>Organisation</a>
    <a href="/audit"{{if eq $.Path "/audit"}} aria-current="page"{{end}}>Audit log</a>{{end}}
  </nav>`
	optionsTemplate = `<select>{{range .}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>`
	sortTemplate    = `<tr>{{template "sorthead" (sorthead .D .Key .Text)}}</tr>` +
		`{{define "sorthead"}}<th scope="col"{{with .D.AriaSort .Key}} aria-sort="{{.}}"{{end}}><a class="sort" href="{{index .D.SortURLs .Key}}">{{.Text}}{{with .D.AriaSort .Key}} <span aria-hidden="true">{{if eq . "descending"}}▼{{else}}▲{{end}}</span>{{end}}<span class="sr-only"> (sort{{if .D.AriaSort .Key}}, reverse{{end}})</span></a></th>{{end}}`
)

func execute(t *testing.T, src string, data any) string {
	t.Helper()
	tpl := template.Must(template.New("").Funcs(templateFuncs).Funcs(template.FuncMap{
		"sorthead": func(d listData, key, text string) map[string]any {
			return map[string]any{"D": d, "Key": key, "Text": text}
		},
	}).Parse(src))
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// whitespace makes each run of white space one space: the template wrote
// the layout's line breaks and indents between links (and blank lines
// for links not shown), mainNav one line break and indent each.
func whitespace(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestPortalHTMLParts(t *testing.T) {
	paths := []string{"/dashboard", "/cases", "/cases/new", "/admin/users", "/admin/settings", "/admin/agencies",
		"/admin/policy", "/admin/organisation", "/audit", "/reports", "/workload", "/notices", "/profile"}
	for _, role := range cases.Roles {
		for _, disabled := range []bool{false, true} {
			u := &cases.User{Email: "x@example.org", Role: role, Disabled: disabled}
			for _, p := range paths {
				want := execute(t, navTemplate, map[string]any{"User": u, "Path": p})
				if got := string(mainNav(u, p)); whitespace(got) != whitespace(want) {
					t.Errorf("nav of %s (disabled %v) on %s:\n got %s\nwant %s", role, disabled, p, got, want)
				}
			}
		}
	}

	hostile := []option{{Value: `a"b<c>&'`, Label: `<script>alert("x")</script>`}, {Value: "received", Label: "Received", Selected: true}}
	for _, opts := range [][]option{options(cases.Statuses, "approved"), options(cases.ProcessTypes, ""), hostile} {
		want := execute(t, optionsTemplate, opts)
		if got := "<select>" + string(optionTags(opts)) + "</select>"; got != want {
			t.Errorf("options:\n got %s\nwant %s", got, want)
		}
	}

	for _, sort := range []string{"", "number", "received", "due"} {
		for _, desc := range []bool{false, true} {
			d := listData{Sort: sort, Desc: desc, SortURLs: map[string]string{
				"number": "/cases?dir=desc&sort=number", "received": `/cases?q=%22%3E%3Cb%3E&sort=received`, "due": "/cases?dir=asc&sort=due"}}
			for _, key := range []string{"number", "received", "due"} {
				want := execute(t, sortTemplate, map[string]any{"D": d, "Key": key, "Text": "Case & <co>"})
				if got := "<tr>" + string(sortHead(d, key, "Case & <co>")) + "</tr>"; got != want {
					t.Errorf("sort head %s (sorted by %q, desc %v):\n got %s\nwant %s", key, sort, desc, got, want)
				}
			}
		}
	}
}
