package web

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"envelope/cases"
)

// The list rows are the only markup written outside html/template, so they
// are held to what it guarantees: whatever a case's text fields hold, the
// rows parse as the expected elements and attributes only, and each cell's
// text reads back exactly as stored.
func TestListRowsEscape(t *testing.T) {
	hostile := []string{
		`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `' onmouseover='alert(1)`,
		`&lt;b&gt; & &amp;`, "javascript:alert(1)", "</td></tr></tbody></table><form action=//evil>",
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	due := now.Add(-time.Hour)
	for _, bad := range hostile {
		s := &cases.Summary{ID: 7, Number: bad, Status: cases.Status(bad), AgencyName: bad, Country: bad,
			Process: cases.ProcessType(bad), ReceivedAt: now, DueAt: &due, Targets: 3, Outcome: cases.Outcome(bad)}
		rows := listRows([]*cases.Summary{s}, now, time.UTC)
		rows[0].Status = string(cases.StatusReceived) // so the row is highlighted overdue
		for name, out := range map[string]template.HTML{"panel": panelRowsHTML(rows), "list": caseRowsHTML(rows)} {
			texts := checkMarkup(t, name, string(out))
			joined := strings.Join(texts, "|")
			if !strings.Contains(joined, bad) {
				t.Errorf("%s: %q does not read back from the cells: %q", name, bad, joined)
			}
		}
	}
}

// checkMarkup tokenizes a table body and fails on any element or attribute
// the rows do not write; it returns the text of the cells.
func checkMarkup(t *testing.T, name, body string) []string {
	t.Helper()
	allowed := map[string][]string{"tr": {"class"}, "td": nil, "a": {"href"}, "span": {"class"}}
	z := html.NewTokenizer(strings.NewReader("<table><tbody>" + body + "</tbody></table>"))
	var texts []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			return texts
		case html.TextToken:
			texts = append(texts, string(z.Text()))
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tok.Data == "table" || tok.Data == "tbody" {
				continue
			}
			attrs, ok := allowed[tok.Data]
			if !ok {
				t.Errorf("%s: unexpected element <%s> in %s", name, tok.Data, body)
				continue
			}
			for _, a := range tok.Attr {
				if !strings.Contains(strings.Join(attrs, ","), a.Key) {
					t.Errorf("%s: unexpected attribute %s=%q on <%s>", name, a.Key, a.Val, tok.Data)
				}
				if a.Key == "href" && !strings.HasPrefix(a.Val, "/cases/") {
					t.Errorf("%s: link to %q", name, a.Val)
				}
			}
		}
	}
}
