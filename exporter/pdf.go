package exporter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"envelope/cases"
	"envelope/exporter/letters"
)

// table is one category as the PDF prints it: its summary, its columns and
// the first rows, and the files holding all of them.
type table struct {
	summary CategorySummary
	columns []string
	rows    [][]string
	files   []fileSum
}

// Table geometry in millimetres and points.
const (
	rowH     = 4.2
	bodySize = 7.5 // table font size, in points
)

// CSVNotice is what the certificate says of the CSV files: a value a
// spreadsheet would run as a formula is written with a leading quote
// (exporter/csvsafe), and the JSON files keep the exact values.
const CSVNotice = "In the CSV files, a value that begins with =, +, -, @, a tab or a carriage return is written " +
	"with a leading apostrophe (') so that a spreadsheet shows it as text instead of running it as a formula. " +
	"The JSON files keep the exact values as recorded."

// disclosurePDF renders disclosure.pdf: the document the agency reads. It
// holds what the recipient needs (the cover letter, the request as
// received, what was produced and withheld and why, the records and the
// certificate) and nothing internal: the policy version, rule
// identifiers, findings and the approver are in manifest.json only.
type disclosurePDF struct {
	doc  *letters.Document
	p    *Production
	m    *Manifest
	data *letters.Data
}

// BatesPrefix is the prefix of a production's Bates numbers: the case
// number and the package's sequence.
func BatesPrefix(c *cases.Case, seq int) string { return fmt.Sprintf("%s-P%02d", c.Number, seq) }

// writePDF renders the PDF into the work directory and returns its sum.
// Every page is portrait but the record tables, which are landscape in
// their own section; every page carries its number and Bates number.
func (b *Builder) writePDF(work string, p *Production, m *Manifest, tables []*table) (fileSum, error) {
	org := p.Org
	if org == nil || !org.Complete() {
		org = unconfiguredOrg(b.Company)
	}
	set := b.Letters
	if set == nil {
		set = letters.Default()
	}
	doc := letters.NewDocument(org, p.Case.Agency.Country, "Disclosure "+p.Case.Number, BatesPrefix(p.Case, p.Seq), p.At)
	d := &disclosurePDF{doc: doc, p: p, m: m, data: b.letterData(p, m, org)}

	if err := set.Render(doc, letters.Cover, d.data); err != nil {
		return fileSum{}, err
	}
	d.request()
	for _, t := range tables {
		d.table(t)
	}
	for _, c := range m.Categories {
		if c.Note != "" {
			d.skipped(c)
		}
	}
	if err := set.Render(doc, letters.Certificate, d.data); err != nil {
		return fileSum{}, err
	}
	pdf, err := doc.Output()
	if err != nil {
		return fileSum{}, err
	}
	hf, err := createHashed(work, PDFFile)
	if err != nil {
		return fileSum{}, err
	}
	if _, err := hf.buf.Write(pdf); err != nil {
		hf.abort()
		return fileSum{}, err
	}
	return hf.close()
}

// unconfiguredOrg stands in when no organisation profile is saved: it
// says so on the page rather than inventing a sender.
func unconfiguredOrg(company string) *cases.Org {
	name := company
	if name == "" {
		name = "[organisation profile not set]"
	}
	return &cases.Org{LegalName: name, Address: "[address not set: see /admin/organisation]",
		ContactEmail: "[contact not set]", CustodianName: "[custodian of records not set]", CustodianTitle: "[title not set]"}
}

// letterData is the cover letter's and certificate's data for a
// production: the case's public facts, the categories with their record
// counts, and the files with their hashes.
func (b *Builder) letterData(p *Production, m *Manifest, org *cases.Org) *letters.Data {
	d := letters.FromCase(p.Case, org, p.At)
	d.Package, d.SigningKey, d.CSVNotice = p.Seq, m.SigningKey, CSVNotice
	d.Produced = nil
	for _, c := range m.Categories {
		if c.Note != "" {
			continue
		}
		text := fmt.Sprintf("%d records", c.Records)
		switch c.Records {
		case 0:
			text = "no records found"
		case 1:
			text = "1 record"
		}
		d.Produced = append(d.Produced, letters.Category{Label: c.Category.Label(), Period: letters.PeriodText(c.Window),
			Records: c.Records, RecordsText: text})
	}
	for _, f := range m.Files {
		if f.Path != PDFFile { // this document cannot contain its own hash
			d.Files = append(d.Files, letters.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256})
		}
	}
	return d
}

// field prints a label and its value (wrapping the value).
func (d *disclosurePDF) field(label, value string) {
	if value == "" {
		value = "-"
	}
	doc := d.doc
	doc.SetFont("B", 9)
	doc.F.SetX(letters.Margin)
	doc.Cell(50, 5, label, "", 0, "L", false)
	doc.SetFont("", 9)
	doc.Block(letters.Margin+50, 5, value)
}

func (d *disclosurePDF) heading(text string) {
	d.doc.SetFont("B", 13)
	d.doc.Para(7, text)
	d.doc.F.Ln(2)
}

func (d *disclosurePDF) subheading(text string) {
	d.doc.F.Ln(3)
	d.doc.SetFont("B", 10.5)
	d.doc.Para(6, text)
	d.doc.F.Ln(1)
}

// request prints the legal process as received and what was produced.
func (d *disclosurePDF) request() {
	c, data := d.p.Case, d.data
	d.doc.Section = "The request"
	d.doc.Page("P")
	d.heading("The request")
	d.field("Our reference", c.Number)
	d.field("Received", letters.Day(c.ReceivedAt))
	d.field("Agency", c.Agency.Name+", "+data.AgencyCountry)
	d.field("Requester", strings.Join(nonEmpty([]string{c.Requester.Name, c.Requester.Email, c.Requester.Phone}), ", "))
	d.field("Legal process", data.Process)
	d.field("Issuing authority", c.Process.IssuingAuthority)
	d.field("Reference", c.Process.Reference)
	dates := [][2]string{}
	if t := c.Process.IssuedAt; t != nil {
		dates = append(dates, [2]string{"Issued", letters.Day(*t)})
	}
	if t := c.Process.EffectiveAt; t != nil {
		dates = append(dates, [2]string{"Effective", letters.Day(*t)})
	}
	if t := c.Process.ExpiresAt; t != nil {
		dates = append(dates, [2]string{"Expires", letters.Day(*t)})
	}
	if t := c.Process.NondisclosureUntil; t != nil {
		dates = append(dates, [2]string{"Nondisclosure until", letters.Day(*t)})
	}
	for _, x := range dates {
		d.field(x[0], x[1])
	}
	d.field("Accounts named", strings.Join(data.Targets, "\n"))
	var cats []string
	for _, k := range c.Categories {
		cats = append(cats, k.Label())
	}
	d.field("Records requested", strings.Join(cats, ", "))
	if data.Period != "" {
		d.field("Period requested", data.Period)
	}

	d.subheading("Records produced")
	for _, cat := range data.Produced {
		v := cat.RecordsText
		if cat.Period != "" {
			v = cat.Period + "; " + v
		}
		d.field(cat.Label, v)
	}
	if len(data.Withheld) > 0 {
		d.subheading("Records not produced")
		for _, w := range data.Withheld {
			d.field(w.Label, w.Reason)
		}
	}
}

// table prints one category in its own landscape section: its period,
// its record count, and its rows in a table whose column headers repeat
// on every page. A large category prints its first rows and points to the
// CSV for the rest.
func (d *disclosurePDF) table(t *table) {
	s, doc := t.summary, d.doc
	label := s.Category.Label()
	doc.Section = "Records: " + label
	doc.Page("L")
	d.heading("Records: " + label)
	doc.SetFont("", 9)
	period := letters.PeriodText(s.Window)
	if period == "" {
		period = "no time limit"
	}
	doc.Para(4.8, fmt.Sprintf("Period: %s. Records produced: %d. Files: %s.", period, s.Records, strings.Join(s.Files, ", ")))
	doc.F.Ln(2)
	if s.Records == 0 {
		doc.SetFont("B", 10)
		doc.Para(5, fmt.Sprintf("No records found: %s holds no %s for the accounts named in the legal process within this period.",
			d.data.Org.LegalName, strings.ToLower(label)))
		return
	}
	if int64(len(t.rows)) < s.Records {
		doc.SetFont("B", 9)
		doc.Para(4.8, fmt.Sprintf("This category holds %d records. The table shows the first %d; all %d are in %s and %s.",
			s.Records, len(t.rows), s.Records, s.Files[0], s.Files[1]))
		doc.F.Ln(2)
	}
	w, h := doc.F.GetPageSize()
	widths := columnWidths(t, w-2*letters.Margin)
	d.tableHeader(t.columns, widths)
	_, _, _, bottom := doc.F.GetMargins()
	for _, row := range t.rows {
		if doc.F.GetY()+rowH > h-bottom {
			doc.Section = "Records: " + label + " (continued)"
			doc.Page("L")
			d.tableHeader(t.columns, widths)
		}
		doc.SetFont("", bodySize)
		doc.F.SetX(letters.Margin)
		for i, v := range row {
			doc.Cell(widths[i], rowH, v, "", 0, "L", false)
		}
		doc.F.Ln(rowH)
	}
}

func (d *disclosurePDF) tableHeader(cols []string, widths []float64) {
	doc := d.doc
	doc.SetFont("B", bodySize+0.5)
	doc.F.SetFillColor(225, 225, 225)
	doc.F.SetX(letters.Margin)
	for i, c := range cols {
		doc.Cell(widths[i], rowH+0.8, columnLabel(c), "B", 0, "L", true)
	}
	doc.F.Ln(rowH + 0.8)
}

// columnLabel turns a column name into a header: "last_seen_at" reads
// "Last seen at".
func columnLabel(c string) string { return cases.Label(c) }

// columnWidths shares the page width among the columns in proportion to
// their widest value in the printed rows (bounded, so one long "about" text
// cannot squeeze the rest).
func columnWidths(t *table, total float64) []float64 {
	want := make([]float64, len(t.columns))
	for i, c := range t.columns {
		want[i] = float64(len(c))
	}
	for _, row := range t.rows {
		for i, v := range row {
			want[i] = max(want[i], float64(utf8.RuneCountInString(v)))
		}
	}
	var sum float64
	for i := range want {
		want[i] = min(want[i], 40) + 2
		sum += want[i]
	}
	widths := make([]float64, len(want))
	for i := range want {
		widths[i] = total * want[i] / sum
	}
	return widths
}

// skipped notes a category this package does not hold.
func (d *disclosurePDF) skipped(c CategorySummary) {
	label := c.Category.Label()
	d.doc.Section = "Records: " + label
	d.doc.Page("P")
	d.heading("Records: " + label)
	d.doc.SetFont("", 10)
	note := c.Note
	if strings.HasPrefix(note, "produced in package 1") {
		note = "These records were produced in the first production for this request and are not repeated"
	}
	d.doc.Para(5, strings.ToUpper(note[:1])+note[1:]+".")
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}
