package letters

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/jung-kurt/gofpdf"

	"envelope/cases"
	"envelope/exporter/pdfdoc"
)

// The markup a template produces, one directive a line:
//
//	@letterhead   the organisation's logo, name and address
//	@date         the letter's date
//	@recipient    the recipient's address block
//	@re TEXT      a bold reference line
//	@center TEXT  a centred line
//	@files        the table of files and their SHA-256 hashes
//	@signature    the custodian's signature, name and title
//	# TEXT        the document's title
//	## TEXT       a heading
//	- TEXT        a bullet
//
// Any other line is text: consecutive lines make a paragraph, a blank
// line ends it.
var directives = map[string]bool{"@letterhead": true, "@date": true, "@recipient": true, "@re": true,
	"@center": true, "@files": true, "@signature": true}

// Page geometry, in millimetres.
const (
	Margin = 20.0
	lineH  = 5.0
)

// Document is a PDF of letters and other pages with envelope's page frame:
// a footer with the page number of the total and, for a production, a
// Bates number on every page, continuous through the document.
type Document struct {
	*pdfdoc.Doc
	Org   *cases.Org
	Paper string // "A4" or "Letter"
	// Bates is the prefix of the pages' Bates numbers ("" for none): page
	// n is Bates-000n.
	Bates string
	// Section is the running header's text on the pages that follow.
	Section string
	logo    string // the registered logo image, if any
}

// NewDocument starts a document for a recipient in country, titled title.
// The creation date is at, so the same input renders the same bytes.
func NewDocument(org *cases.Org, country, title, bates string, at time.Time) *Document {
	paper := org.Paper(country)
	d := &Document{Doc: pdfdoc.New("P", paper), Org: org, Paper: paper, Bates: bates}
	f := d.F
	f.SetMargins(Margin, Margin, Margin)
	f.SetAutoPageBreak(true, 22)
	f.SetCreationDate(at)
	f.SetModificationDate(at)
	f.SetCatalogSort(true)
	f.SetCreator(org.LegalName, true)
	f.SetTitle(title, true)
	f.AliasNbPages("{nb}")
	f.SetHeaderFuncMode(d.header, true)
	f.SetFooterFunc(d.footer)
	if t := cases.ImageType(org.Logo); t != "" {
		d.logo = "logo"
		f.RegisterImageOptionsReader(d.logo, gofpdf.ImageOptions{ImageType: t}, bytes.NewReader(org.Logo))
	}
	return d
}

// Page starts a page, "P" portrait or "L" landscape, on the document's
// paper.
func (d *Document) Page(orientation string) {
	d.F.AddPageFormat(orientation, pdfdoc.PageSize(d.Paper))
}

// BatesNumber is the Bates number of page n.
func (d *Document) BatesNumber(n int) string { return fmt.Sprintf("%s-%06d", d.Bates, n) }

func (d *Document) header() {
	if d.Section == "" {
		return
	}
	f := d.F
	f.SetY(10)
	d.SetFont("", 7.5)
	f.SetTextColor(90, 90, 90)
	w, _ := f.GetPageSize()
	d.Cell(w-2*Margin, 4, d.Org.LegalName+"  ·  "+d.Section, "B", 1, "R", false)
	f.SetTextColor(0, 0, 0)
	f.SetY(Margin)
	d.Forget()
}

func (d *Document) footer() {
	f := d.F
	f.SetY(-14)
	d.SetFont("", 8)
	f.SetTextColor(90, 90, 90)
	w, _ := f.GetPageSize()
	third := (w - 2*Margin) / 3
	f.SetX(Margin)
	d.Cell(third, 4, d.Org.LegalName, "", 0, "L", false)
	d.Cell(third, 4, fmt.Sprintf("Page %d of {nb}", f.PageNo()), "", 0, "C", false)
	if d.Bates != "" {
		d.Cell(third, 4, d.BatesNumber(f.PageNo()), "", 0, "R", false)
	}
	f.SetTextColor(0, 0, 0)
	d.Forget()
}

// Output renders the document.
func (d *Document) Output() ([]byte, error) {
	var buf bytes.Buffer
	if err := d.F.Output(&buf); err != nil {
		return nil, fmt.Errorf("render the PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// Render adds letter k, made from d's data, to doc, on a new portrait
// page.
func (s *Set) Render(doc *Document, k Kind, d *Data) error {
	text, err := s.Text(k, d)
	if err != nil {
		return err
	}
	doc.Section = k.Title()
	doc.Page("P")
	doc.markup(text, d)
	return doc.F.Error()
}

// Letter renders letter k alone as a PDF for the case's recipient.
func (s *Set) Letter(k Kind, d *Data, country string, at time.Time) ([]byte, error) {
	doc := NewDocument(d.Org, country, k.Title()+" "+d.CaseNumber, "", at)
	if err := s.Render(doc, k, d); err != nil {
		return nil, err
	}
	return doc.Output()
}

// markup draws a template's output.
func (doc *Document) markup(text string, d *Data) {
	var para []string
	flush := func() {
		if len(para) > 0 {
			doc.SetFont("", 10)
			doc.Para(lineH, strings.Join(para, " "))
			doc.F.Ln(2.5)
			para = nil
		}
	}
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		dir, rest, _ := strings.Cut(line, " ")
		switch {
		case line == "":
			flush()
		case directives[dir]:
			if dir == "@signature" {
				doc.keepSignature(len(para) > 0)
			}
			flush()
			doc.directive(dir, strings.TrimSpace(rest), d)
		case strings.HasPrefix(line, "## "):
			flush()
			doc.F.Ln(1)
			doc.SetFont("B", 11)
			doc.Para(6, line[3:])
			doc.F.Ln(1)
		case strings.HasPrefix(line, "# "):
			flush()
			doc.SetFont("B", 13)
			doc.F.SetX(Margin)
			doc.Para(6.5, line[2:])
			doc.F.Ln(1.5)
		case strings.HasPrefix(line, "- "):
			flush()
			doc.SetFont("", 10)
			doc.F.SetX(Margin + 2)
			doc.Write(lineH, "•")
			doc.Block(Margin+7, lineH, line[2:])
			doc.F.Ln(1)
		default:
			para = append(para, line)
		}
	}
	flush()
}

func (doc *Document) directive(dir, rest string, d *Data) {
	f := doc.F
	w, _ := f.GetPageSize()
	width := w - 2*Margin
	switch dir {
	case "@letterhead":
		y := f.GetY()
		if doc.logo != "" {
			f.ImageOptions(doc.logo, Margin, y, 0, 16, false, gofpdf.ImageOptions{}, 0, "")
		}
		f.SetXY(Margin, y)
		doc.SetFont("B", 12)
		doc.Cell(width, 6, doc.Org.LegalName, "", 1, "R", false)
		doc.SetFont("", 8.5)
		for _, l := range strings.Split(doc.Org.Address, "\n") {
			doc.Cell(width, 4, l, "", 1, "R", false)
		}
		doc.Cell(width, 4, d.Contact(), "", 1, "R", false)
		f.SetY(max(f.GetY(), y+16) + 3)
		f.SetDrawColor(31, 58, 95)
		f.Line(Margin, f.GetY(), w-Margin, f.GetY())
		f.SetDrawColor(0, 0, 0)
		f.Ln(6)
	case "@date":
		doc.SetFont("", 10)
		doc.Para(lineH, d.Date)
		f.Ln(3)
	case "@recipient":
		doc.SetFont("", 10)
		doc.Para(lineH, strings.Join(d.Recipient, "\n"))
		f.Ln(3)
	case "@re":
		doc.SetFont("B", 10)
		doc.Para(lineH, rest)
		f.Ln(1.5)
	case "@center":
		doc.SetFont("", 10)
		doc.Cell(width, 6, rest, "", 1, "C", false)
		f.Ln(2)
	case "@files":
		doc.files(d.Files, width)
	case "@signature":
		doc.signature()
	}
}

// files prints the file table of a certificate.
func (doc *Document) files(files []File, width float64) {
	f := doc.F
	doc.SetFont("B", 8)
	f.SetFillColor(230, 230, 230)
	doc.Cell(width*0.34, 5, "File", "B", 0, "L", true)
	doc.Cell(width*0.12, 5, "Bytes", "B", 0, "R", true)
	doc.Cell(width*0.54, 5, "SHA-256", "B", 1, "L", true)
	for _, fs := range files {
		doc.SetFont("", 7.5)
		doc.Cell(width*0.34, 4.5, fs.Path, "", 0, "L", false)
		doc.Cell(width*0.12, 4.5, fmt.Sprint(fs.Size), "", 0, "R", false)
		doc.SetFont("", 6.5)
		doc.Cell(width*0.54, 4.5, fs.SHA256, "", 1, "L", false)
	}
	f.Ln(3)
}

// signatureSpace is the height the signature block takes, with the
// closing line before it.
const signatureSpace = 48.0

// keepSignature starts a new page if the signature block (and the
// closing paragraph before it, if pending) would not fit on this one: a
// signature is never alone at the top of a page, cut from its letter.
func (doc *Document) keepSignature(closing bool) {
	_, h := doc.F.GetPageSize()
	_, _, _, bottom := doc.F.GetMargins()
	need := signatureSpace
	if closing {
		need += 2 * lineH
	}
	if doc.F.GetY()+need > h-bottom {
		doc.Page("P")
	}
}

// signature prints the custodian's signature (image, or typed), name,
// title and organisation.
func (doc *Document) signature() {
	f := doc.F
	f.Ln(4)
	o := doc.Org
	if t := cases.ImageType(o.SignatureImage); t != "" {
		f.RegisterImageOptionsReader("signature", gofpdf.ImageOptions{ImageType: t}, bytes.NewReader(o.SignatureImage))
		f.ImageOptions("signature", Margin, f.GetY(), 0, 14, true, gofpdf.ImageOptions{}, 0, "")
	} else {
		doc.SetFont("", 12)
		sig := o.TypedSignature
		if sig == "" {
			sig = "/s/ " + o.CustodianName
		}
		doc.Para(7, sig)
	}
	f.SetDrawColor(0, 0, 0)
	f.Line(Margin, f.GetY(), Margin+70, f.GetY())
	f.Ln(1.5)
	doc.SetFont("B", 10)
	doc.Para(lineH, o.CustodianName)
	doc.SetFont("", 10)
	doc.Para(lineH, o.CustodianTitle)
	doc.Para(lineH, o.LegalName)
}
