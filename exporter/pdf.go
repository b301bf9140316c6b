package exporter

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jung-kurt/gofpdf"

	"envelope/cases"
)

// table is one category as the PDF prints it: its summary, its columns and
// the first rows, and the files holding all of them.
type table struct {
	summary CategorySummary
	columns []string
	rows    [][]string
	files   []fileSum
}

// Page geometry in millimetres: A4, portrait for the letter and the
// certificate, landscape for the record tables (more columns fit).
const (
	margin    = 18.0
	bottom    = 16.0
	rowH      = 3.6
	bodySize  = 7.0                        // table font size, in points
	charWidth = 0.6 * bodySize * 25.4 / 72 // Courier: every glyph is 0.6 em
)

// disclosurePDF renders disclosure.pdf.
type disclosurePDF struct {
	f       *gofpdf.Fpdf
	tr      func(string) string
	p       *Production
	m       *Manifest
	company string
	section string // the running header's second half
}

// writePDF renders the PDF into the work directory and returns its sum.
func (b *Builder) writePDF(work string, p *Production, m *Manifest, tables []*table) (fileSum, error) {
	f := gofpdf.New("P", "mm", "A4", "")
	f.SetMargins(margin, margin+6, margin)
	f.SetAutoPageBreak(true, bottom)
	// Fixed dates make the same production render the same bytes.
	f.SetCreationDate(p.At)
	f.SetModificationDate(p.At)
	f.SetCatalogSort(true)
	f.SetCreator("envelope", false)
	f.SetTitle("Disclosure "+p.Case.Number, false)
	f.AliasNbPages("{nb}")
	company := b.Company
	if company == "" {
		company = "the platform"
	}
	d := &disclosurePDF{f: f, tr: f.UnicodeTranslatorFromDescriptor(""), p: p, m: m, company: company}
	f.SetHeaderFunc(d.header)
	f.SetFooterFunc(d.footer)

	d.coverLetter()
	d.request()
	d.decision()
	for _, t := range tables {
		d.table(t)
	}
	for _, c := range m.Categories {
		if c.Note != "" {
			d.skipped(c)
		}
	}
	d.certificate()
	if err := f.Error(); err != nil {
		return fileSum{}, fmt.Errorf("render the PDF: %w", err)
	}
	hf, err := createHashed(work, PDFFile)
	if err != nil {
		return fileSum{}, err
	}
	if err := f.Output(hf.buf); err != nil {
		hf.abort()
		return fileSum{}, fmt.Errorf("render the PDF: %w", err)
	}
	return hf.close()
}

// header is the running header on every page: the case, the package and
// the section, so a loose page still says where it belongs.
func (d *disclosurePDF) header() {
	f := d.f
	f.SetY(8)
	f.SetFont("Helvetica", "", 7.5)
	f.SetTextColor(90, 90, 90)
	left := fmt.Sprintf("%s - disclosure package %d", d.p.Case.Number, d.p.Seq)
	w, _ := f.GetPageSize()
	f.CellFormat((w-2*margin)/2, 4, d.tr(left), "B", 0, "L", false, 0, "")
	f.CellFormat((w-2*margin)/2, 4, d.tr(d.section), "B", 1, "R", false, 0, "")
	f.SetTextColor(0, 0, 0)
	f.SetY(margin + 6)
}

func (d *disclosurePDF) footer() {
	f := d.f
	f.SetY(-11)
	f.SetFont("Helvetica", "", 7.5)
	f.SetTextColor(90, 90, 90)
	f.CellFormat(0, 4, fmt.Sprintf("Law enforcement sensitive - page %d of {nb}", f.PageNo()), "", 0, "C", false, 0, "")
	f.SetTextColor(0, 0, 0)
}

func (d *disclosurePDF) page(orientation, section string) {
	d.section = section
	d.f.AddPageFormat(orientation, gofpdf.SizeType{Wd: 210, Ht: 297})
}

func (d *disclosurePDF) heading(text string) {
	d.f.SetFont("Helvetica", "B", 13)
	d.f.CellFormat(0, 8, d.tr(text), "", 1, "L", false, 0, "")
	d.f.Ln(1)
}

func (d *disclosurePDF) para(text string) {
	d.f.SetFont("Helvetica", "", 10)
	d.f.MultiCell(0, 5, d.tr(text), "", "L", false)
	d.f.Ln(2)
}

// field prints a label and its value on one line (wrapping the value).
func (d *disclosurePDF) field(label, value string) {
	if value == "" {
		value = "-"
	}
	f := d.f
	f.SetFont("Helvetica", "B", 9)
	f.CellFormat(48, 5, d.tr(label), "", 0, "L", false, 0, "")
	f.SetFont("Helvetica", "", 9)
	f.MultiCell(0, 5, d.tr(value), "", "L", false)
}

func day(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2 January 2006")
}

func stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func windowText(w *cases.Window) string {
	if w == nil {
		return "no time limit"
	}
	return fmt.Sprintf("%s to %s (UTC, end exclusive)", w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339))
}

func (d *disclosurePDF) coverLetter() {
	c, p := d.p.Case, d.p
	d.page("P", "Cover letter")
	d.para(day(&p.At))
	to := []string{c.Requester.Name, c.Agency.Name, c.Agency.Country}
	if c.Requester.Email != "" {
		to = append(to, c.Requester.Email)
	}
	d.para(strings.Join(nonEmpty(to), "\n"))
	d.f.SetFont("Helvetica", "B", 10)
	d.f.MultiCell(0, 5, d.tr(fmt.Sprintf("Re: %s %s (%s), our case %s",
		c.Process.Type.Label(), c.Process.Reference, c.Process.IssuingAuthority, c.Number)), "", "L", false)
	d.f.Ln(3)
	greeting := "Dear Sir or Madam,"
	if c.Requester.Name != "" {
		greeting = "Dear " + c.Requester.Name + ","
	}
	d.para(greeting)
	d.para(fmt.Sprintf("In response to the legal process referenced above, received on %s, %s produces the "+
		"records described in this document. They are non-content records (who communicated with whom, when, "+
		"and from where) for the accounts named in the process, limited to the categories and periods set out "+
		"in the decision below. We do not have access to, and do not produce, the content of messages.",
		day(&c.ReceivedAt), d.company))
	d.para(fmt.Sprintf("This is disclosure package %d for this case. The records are in the files "+
		"records/<category>.csv and records/<category>.json of the package; the tables in this document show them "+
		"(or, for large categories, their first rows). Every file's SHA-256 is listed in the certificate of "+
		"authenticity at the end of this document and in the package's SHA256SUMS file, which is signed with "+
		"Ed25519 key %s.", p.Seq, d.m.SigningKey))
	if d.m.Decision.UserNotice == cases.NoticeDelayed {
		d.para("The account holder has not been notified of this request.")
	}
	d.para("Sincerely,\n\nLaw Enforcement Response, " + d.company)
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

func (d *disclosurePDF) request() {
	c := d.p.Case
	d.page("P", "The request")
	d.heading("The request and its legal basis")
	d.field("Case number", c.Number)
	d.field("Received", stamp(&c.ReceivedAt))
	d.field("Agency", fmt.Sprintf("%s (%s)", c.Agency.Name, c.Agency.Country))
	d.field("Requester", strings.Join(nonEmpty([]string{c.Requester.Name, c.Requester.Email, c.Requester.Phone}), ", "))
	proc := c.Process.Type.Label()
	if c.Process.Via != "" {
		proc += " via " + c.Process.Via.Label()
	}
	d.field("Legal process", proc)
	d.field("Issuing authority", c.Process.IssuingAuthority)
	d.field("Reference", c.Process.Reference)
	d.field("Issued", day(c.Process.IssuedAt))
	d.field("Effective", day(c.Process.EffectiveAt))
	d.field("Expires", day(c.Process.ExpiresAt))
	d.field("Nondisclosure until", day(c.Process.NondisclosureUntil))
	var targets []string
	for _, t := range c.Targets {
		targets = append(targets, fmt.Sprintf("%s (%s)", t.Value, t.Kind.Label()))
	}
	d.field("Targets", strings.Join(targets, "\n"))
	var cats []string
	for _, k := range c.Categories {
		cats = append(cats, k.Label())
	}
	d.field("Categories requested", strings.Join(cats, ", "))
	d.field("Period requested", windowText(c.Window))
}

func (d *disclosurePDF) decision() {
	dec, m := d.m.Decision, d.m
	d.f.Ln(4)
	d.section = "The decision"
	d.heading("The decision")
	d.field("Outcome", dec.Outcome.Label())
	d.field("Policy version", dec.PolicyVersion)
	d.field("Decided", stamp(&dec.DecidedAt))
	d.field("Approved by", m.Case.ApprovedBy+" "+stamp(m.Case.ApprovedAt))
	d.field("User notice", dec.UserNotice.Label())
	d.f.Ln(2)
	d.f.SetFont("Helvetica", "B", 10)
	d.f.CellFormat(0, 6, "Allowed", "", 1, "L", false, 0, "")
	for _, a := range dec.Allowed {
		extra := ""
		if a.Prospective {
			extra = ", prospective"
		}
		d.field(a.Category.Label(), fmt.Sprintf("rule %s%s; %s", a.Rule, extra, windowText(a.Window)))
	}
	if len(dec.Denied) > 0 {
		d.f.SetFont("Helvetica", "B", 10)
		d.f.CellFormat(0, 6, "Denied (not produced)", "", 1, "L", false, 0, "")
		for _, x := range dec.Denied {
			d.field(x.Category.Label(), fmt.Sprintf("rule %s: %s", x.Rule, x.Reason))
		}
	}
	if len(dec.Findings) > 0 {
		d.f.SetFont("Helvetica", "B", 10)
		d.f.CellFormat(0, 6, "Findings", "", 1, "L", false, 0, "")
		for _, x := range dec.Findings {
			d.field(x.Rule+" ("+x.Severity.Label()+")", x.Message)
		}
	}
}

// table prints one category: its rule and window, its record count, and
// its rows in a table whose column headers repeat on every page. A large
// category prints its first rows and points to the CSV for the rest.
func (d *disclosurePDF) table(t *table) {
	s := t.summary
	d.page("L", s.Category.Label())
	d.heading(s.Category.Label())
	d.f.SetFont("Helvetica", "", 9)
	d.f.MultiCell(0, 4.5, d.tr(fmt.Sprintf("Allowed by rule %s; %s. Records produced: %d. Files: %s.",
		s.Rule, windowText(s.Window), s.Records, strings.Join(s.Files, ", "))), "", "L", false)
	d.f.Ln(2)
	if s.Records == 0 {
		d.f.SetFont("Helvetica", "B", 10)
		d.f.MultiCell(0, 5, d.tr(fmt.Sprintf("No records found: %s holds no %s records for the targets named in the process within the allowed period.",
			d.company, strings.ToLower(s.Category.Label()))), "", "L", false)
		return
	}
	if int64(len(t.rows)) < s.Records {
		d.f.SetFont("Helvetica", "B", 9)
		d.f.MultiCell(0, 4.5, d.tr(fmt.Sprintf("This category holds %d records. The table shows the first %d; all %d are in %s and %s.",
			s.Records, len(t.rows), s.Records, s.Files[0], s.Files[1])), "", "L", false)
		d.f.Ln(2)
	}
	widths, chars := columnWidths(t, 297-2*margin)
	d.tableHeader(t.columns, widths)
	pageBottom := 210.0 - bottom
	for _, row := range t.rows {
		if d.f.GetY()+rowH > pageBottom {
			d.page("L", s.Category.Label()+" (continued)")
			d.tableHeader(t.columns, widths)
		}
		d.f.SetFont("Courier", "", bodySize)
		for i, v := range row {
			d.f.CellFormat(widths[i], rowH, d.tr(clip(v, chars[i])), "", 0, "L", false, 0, "")
		}
		d.f.Ln(rowH)
	}
}

func (d *disclosurePDF) tableHeader(cols []string, widths []float64) {
	d.f.SetFont("Helvetica", "B", bodySize+0.5)
	d.f.SetFillColor(225, 225, 225)
	for i, c := range cols {
		d.f.CellFormat(widths[i], rowH+0.8, c, "B", 0, "L", true, 0, "")
	}
	d.f.Ln(rowH + 0.8)
}

// columnWidths shares the page width among the columns in proportion to
// their widest value in the printed rows (bounded, so one long "about" text
// cannot squeeze the rest), and says how many characters each column holds.
func columnWidths(t *table, total float64) ([]float64, []int) {
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
	chars := make([]int, len(want))
	for i := range want {
		widths[i] = total * want[i] / sum
		chars[i] = max(int(widths[i]/charWidth)-1, 4)
	}
	return widths, chars
}

// clip shortens a value to n characters for the table; the CSV keeps it
// whole.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-3]) + "..."
}

// skipped notes a category this package does not hold.
func (d *disclosurePDF) skipped(c CategorySummary) {
	d.page("P", c.Category.Label())
	d.heading(c.Category.Label())
	d.para(fmt.Sprintf("Allowed by rule %s; %s. %s.", c.Rule, windowText(c.Window), c.Note))
}

// CSVNotice is what the certificate says of the CSV files: a value a
// spreadsheet would run as a formula is written with a leading quote
// (exporter/csvsafe), and the JSON files keep the exact values.
const CSVNotice = "In the CSV files, a value that begins with =, +, -, @, a tab or a carriage return is written " +
	"with a leading apostrophe (') so that a spreadsheet shows it as text instead of running it as a formula. " +
	"The JSON files keep the exact values as recorded."

// certificate is the certificate of authenticity of business records, in
// the form of a declaration under Federal Rules of Evidence 902(11) and
// 902(13), listing the SHA-256 of every file of the package but those
// derived from it (manifest.json, SHA256SUMS and its signature, which
// carry this document's own hash).
func (d *disclosurePDF) certificate() {
	c, p := d.p.Case, d.p
	d.page("P", "Certificate of authenticity")
	d.heading("Certificate of authenticity of business records")
	d.para(fmt.Sprintf("I, the undersigned, am employed by %s and am a custodian of its records, or am otherwise "+
		"qualified by my familiarity with the manner in which they are created, kept and retrieved. I certify that "+
		"the records produced in disclosure package %d for case %s (%s %s) are true copies of records that were "+
		"made at or near the time of the occurrence of the matters set forth, by, or from information transmitted by, "+
		"a person with knowledge of those matters or an automated system; that they were kept in the course of "+
		"regularly conducted activity of %s; and that it was the regular practice of that activity to make them.",
		d.company, p.Seq, c.Number, c.Process.Type.Label(), c.Process.Reference, d.company))
	d.para("The records were copied from the platform's systems by a process that produces an accurate result. " +
		"Each file of the package is identified below by its SHA-256 hash value; any change to a file changes its hash.")
	d.para(CSVNotice)
	d.f.SetFont("Helvetica", "B", 8)
	d.f.CellFormat(62, 5, "File", "B", 0, "L", false, 0, "")
	d.f.CellFormat(0, 5, "Size (bytes) and SHA-256", "B", 1, "L", false, 0, "")
	for _, fs := range d.m.Files {
		if fs.Path == PDFFile {
			continue // this document cannot contain its own hash
		}
		d.f.SetFont("Helvetica", "", 8)
		d.f.CellFormat(62, 4.5, d.tr(fs.Path), "", 0, "L", false, 0, "")
		d.f.SetFont("Courier", "", 7.5)
		d.f.CellFormat(0, 4.5, fmt.Sprintf("%d  %s", fs.Size, fs.SHA256), "", 1, "L", false, 0, "")
	}
	d.f.Ln(3)
	d.para(fmt.Sprintf("The hashes of this document (%s) and of manifest.json are listed in the file SHA256SUMS, "+
		"whose Ed25519 signature is SHA256SUMS.sig. The public key's SHA-256 fingerprint is %s.", PDFFile, d.m.SigningKey))
	d.para(fmt.Sprintf("I declare under penalty of perjury that the foregoing is true and correct.\n\nProduced on %s by %s.",
		stamp(&p.At), p.By))
	d.f.Ln(10)
	d.para("______________________________\nCustodian of records, " + d.company)
}
