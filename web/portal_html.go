package web

import (
	"html"
	"html/template"
	"strings"

	"envelope/cases"
)

// The parts of every page that html/template spent most of a page's time
// on, written here instead (docs/performance.md, "Case list over HTTP"):
// the main navigation, a select's options and the case list's sortable
// column headers. Each was a run of small actions (an eq, a method call,
// an escaper per value), and html/template pays a reflective call for
// every one of them. Every value written is escaped with html.EscapeString
// (which escapes quotes too, so it is safe inside the quoted attributes
// used here), and the tests compare these parts with what the templates
// wrote (TestPortalHTMLParts).

// navLink is one link of the main navigation, shown to the users show
// allows (nil: everyone signed in).
type navLink struct {
	href, text string
	show       func(*cases.User) bool
}

var mainNavLinks = []navLink{
	{"/dashboard", "Dashboard", nil},
	{"/cases", "Cases", nil},
	{"/workload", "Workload", nil},
	{"/notices", "Notices", nil},
	{"/cases/new", "Log a request", (*cases.User).CanLog},
	{"/reports", "Report", nil},
	{"/admin/users", "Users", admins},
	{"/admin/settings", "Settings", admins},
	{"/admin/agencies", "Agencies", auditors},
	{"/admin/policy", "Policy", auditors},
	{"/admin/organisation", "Organisation", auditors},
	{"/audit", "Audit log", auditors},
}

// mainNav is the staff portal's navigation for u on the page path, the
// current page marked for assistive technology.
func mainNav(u *cases.User, path string) template.HTML {
	var b strings.Builder
	b.Grow(900)
	b.WriteString(`<nav aria-label="Main">`)
	for _, l := range mainNavLinks {
		if l.show != nil && (u == nil || !l.show(u)) {
			continue
		}
		b.WriteString("\n    <a href=\"")
		b.WriteString(l.href)
		b.WriteByte('"')
		if path == l.href {
			b.WriteString(` aria-current="page"`)
		}
		b.WriteByte('>')
		b.WriteString(l.text)
		b.WriteString("</a>")
	}
	b.WriteString("\n  </nav>")
	return template.HTML(b.String())
}

// optionTags are a select's options, the chosen one selected.
func optionTags(opts []option) template.HTML {
	var b strings.Builder
	b.Grow(len(opts) * 60)
	for _, o := range opts {
		b.WriteString(`<option value="`)
		b.WriteString(html.EscapeString(o.Value))
		b.WriteByte('"')
		if o.Selected {
			b.WriteString(" selected")
		}
		b.WriteByte('>')
		b.WriteString(html.EscapeString(o.Label))
		b.WriteString("</option>")
	}
	return template.HTML(b.String())
}

// sortHead is the header cell of a sortable column of the case list: a
// link that sorts by key (the other way if the list is sorted by key
// already), and the current order for assistive technology.
func sortHead(d listData, key, text string) template.HTML {
	aria := d.AriaSort(key)
	var b strings.Builder
	b.Grow(200)
	b.WriteString(`<th scope="col"`)
	if aria != "" {
		b.WriteString(` aria-sort="`)
		b.WriteString(aria)
		b.WriteByte('"')
	}
	b.WriteString(`><a class="sort" href="`)
	b.WriteString(html.EscapeString(d.SortURLs[key]))
	b.WriteString(`">`)
	b.WriteString(html.EscapeString(text))
	if aria != "" {
		arrow := "▲"
		if aria == "descending" {
			arrow = "▼"
		}
		b.WriteString(` <span aria-hidden="true">` + arrow + `</span>`)
	}
	b.WriteString(`<span class="sr-only"> (sort`)
	if aria != "" {
		b.WriteString(", reverse")
	}
	b.WriteString(")</span></a></th>")
	return template.HTML(b.String())
}
