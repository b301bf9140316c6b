package web

import (
	"html"
	"html/template"
	"strconv"
	"strings"
	"time"

	"envelope/cases"
)

// listRow is one row of a case list (the case list page and the dashboard's
// panels) with every cell worked out here rather than in the template. A
// busy list is the portal's hottest page, and html/template pays a
// reflective call for each function and each field of an embedded struct;
// plain string fields of a flat struct are the cheapest thing it can print.
type listRow struct {
	ID                    int64
	Number                string
	Emergency             bool
	Received              string
	Agency, Country       string
	Process               string // label
	Targets               int
	Outcome, OutcomeLabel string
	Status, StatusLabel   string
	Due                   string
	DueClass, DueText     string // deadline highlighting: see dueClass
}

// listRows turns summaries into rows, highlighting deadlines as of now,
// times shown in loc.
func listRows(list []*cases.Summary, now time.Time, loc *time.Location) []listRow {
	rows := make([]listRow, len(list))
	for i, s := range list {
		class := dueClass(s.DueAt, now, s.Status, loc)
		rows[i] = listRow{
			ID: s.ID, Number: s.Number, Emergency: s.Process == cases.Emergency,
			Received: fmtDate(s.ReceivedAt, loc),
			Agency:   s.AgencyName, Country: s.Country, Process: label(s.Process), Targets: s.Targets,
			Outcome: string(s.Outcome), Status: string(s.Status), StatusLabel: label(s.Status),
			DueClass: class, DueText: dueText(class),
		}
		if s.Outcome != "" {
			rows[i].OutcomeLabel = label(s.Outcome)
		}
		if s.DueAt != nil {
			rows[i].Due = fmtDue(*s.DueAt, now, urgent(s.Process, nil), loc)
		}
	}
	return rows
}

// Table bodies of the case lists. The rows are written here, every value
// through html.EscapeString, rather than by html/template, which pays a
// reflective call per value and per escaper: 50 rows of 12 cells were half
// of a list page's cost (docs/performance.md). These two functions are the
// only markup built outside the templates; TestListRowsEscape and the
// portal's HTML injection tests hold them to the templates' escaping.

// panelRowsHTML is the body of a dashboard panel's table: case, agency,
// process, status, due.
func panelRowsHTML(rows []listRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 400)
	for i := range rows {
		r := &rows[i]
		r.startRow(&b, true)
		b.WriteString(`</td><td>`)
		b.WriteString(html.EscapeString(r.Agency))
		b.WriteString(` <span class="muted">`)
		b.WriteString(html.EscapeString(r.Country))
		b.WriteString(`</span></td><td>`)
		b.WriteString(html.EscapeString(r.Process))
		r.endRow(&b)
	}
	return template.HTML(b.String())
}

// caseRowsHTML is the body of the case list's table: case, received,
// agency, country, process, targets, decision, status, due.
func caseRowsHTML(rows []listRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 500)
	for i := range rows {
		r := &rows[i]
		r.startRow(&b, false)
		for _, v := range []string{r.Received, r.Agency, r.Country, r.Process, strconv.Itoa(r.Targets)} {
			b.WriteString(`</td><td>`)
			b.WriteString(html.EscapeString(v))
		}
		b.WriteString(`</td><td>`)
		if r.OutcomeLabel != "" {
			b.WriteString(`<span class="outcome `)
			b.WriteString(html.EscapeString(r.Outcome))
			b.WriteString(`">`)
			b.WriteString(html.EscapeString(r.OutcomeLabel))
			b.WriteString(`</span>`)
		}
		r.endRow(&b)
	}
	return template.HTML(b.String())
}

// startRow opens a row, highlighted by its deadline (and, on the
// dashboard, as an emergency), with the case's number and link.
func (r *listRow) startRow(b *strings.Builder, markEmergency bool) {
	b.WriteString(`<tr class="`)
	b.WriteString(r.DueClass)
	if markEmergency && r.Emergency {
		b.WriteString(" emergency")
	}
	b.WriteString(`"><td><a href="/cases/`)
	b.WriteString(strconv.FormatInt(r.ID, 10))
	b.WriteString(`">`)
	b.WriteString(html.EscapeString(r.Number))
	b.WriteString(`</a>`)
	if r.Emergency {
		b.WriteString(` <span class="badge emergency">Emergency</span>`)
	}
}

// endRow writes the status and due cells, which end both tables' rows.
func (r *listRow) endRow(b *strings.Builder) {
	b.WriteString(`</td><td><span class="status `)
	b.WriteString(html.EscapeString(r.Status))
	b.WriteString(`">`)
	b.WriteString(html.EscapeString(r.StatusLabel))
	b.WriteString(`</span></td><td>`)
	// The due date with its highlight: DueClass and DueText are constants
	// of dueClass and dueText, never data.
	b.WriteString(r.Due)
	if r.DueText != "" {
		b.WriteString(` <span class="badge `)
		b.WriteString(r.DueClass)
		b.WriteString(`">`)
		b.WriteString(r.DueText)
		b.WriteString(`</span>`)
	}
	b.WriteString("</td></tr>\n")
}

// option is one choice of a filter's select, labelled and marked here so
// the list page's template prints fields instead of calling functions.
type option struct {
	Value, Label string
	Selected     bool
}

// options lists values as a select's options, selecting the chosen one.
func options[T ~string](values []T, chosen string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: string(v), Label: label(v), Selected: string(v) == chosen}
	}
	return out
}
