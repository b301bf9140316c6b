// Package pdfdoc sets text in envelope's PDFs in any script. gofpdf draws
// one font at a time and has no font fallback, so text is cut into runs by
// script, and each run is drawn with an embedded font that covers it:
// Noto Sans for Latin, Greek and Cyrillic, Noto Sans Arabic, Hebrew and
// Devanagari, and Droid Sans Fallback for Chinese, Japanese and Korean
// (fonts/README.md has their licences). A name such as محمد, देवनागरी or
// 王小明 therefore comes out as those characters in the text layer.
//
// Right-to-left runs (Arabic, Hebrew) are drawn in visual order, so they
// read right to left; gofpdf does not join Arabic letters, which appear in
// their isolated forms. Bidirectional control characters are removed
// first, so a name cannot reorder the text around it (the CSV and JSON
// keep the exact value).
package pdfdoc

import (
	"embed"
	"strings"
	"unicode"

	"github.com/jung-kurt/gofpdf"
)

//go:embed fonts/*.ttf
var fontFS embed.FS

// Font families, each one embedded font.
const (
	Sans       = "sans" // Noto Sans: Latin, Greek, Cyrillic; regular and bold
	arabic     = "arabic"
	hebrew     = "hebrew"
	devanagari = "devanagari"
	cjk        = "cjk"
)

var fontFiles = map[string]string{
	Sans: "NotoSans-Regular.ttf", Sans + "B": "NotoSans-Bold.ttf",
	arabic: "NotoSansArabic-Regular.ttf", hebrew: "NotoSansHebrew-Regular.ttf",
	devanagari: "NotoSansDevanagari-Regular.ttf", cjk: "DroidSansFallbackFull.ttf",
}

// Doc is a PDF with the fonts registered as its text needs them.
type Doc struct {
	F     *gofpdf.Fpdf
	added map[string]bool
	style string // "" or "B"
	size  float64
	// The font last set through use, so an unchanged font is not set
	// again; Forget clears it when gofpdf sets fonts itself.
	curKey  string
	curSize float64
}

// Forget clears the memory of the current font. Call it at the end of a
// header or footer function: gofpdf restores the page's font after them
// without telling the Doc.
func (d *Doc) Forget() { d.curKey = "" }

// New returns a document in millimetres on paper "A4" or "Letter" with
// the given default orientation ("P" or "L").
func New(orientation, paper string) *Doc {
	d := &Doc{F: gofpdf.New(orientation, "mm", paper, ""), added: map[string]bool{}}
	d.SetFont("", 10)
	return d
}

// PageSize returns the size of paper in millimetres, portrait.
func PageSize(paper string) gofpdf.SizeType {
	if paper == "Letter" {
		return gofpdf.SizeType{Wd: 215.9, Ht: 279.4}
	}
	return gofpdf.SizeType{Wd: 210, Ht: 297}
}

// SetFont sets the style ("" or "B") and size of the text that follows.
// Bold exists for Latin text; other scripts are drawn regular.
func (d *Doc) SetFont(style string, size float64) {
	d.style, d.size = style, size
	d.use(Sans)
}

// use selects family (registering its font on first use) in the current
// style and size.
func (d *Doc) use(family string) {
	style := ""
	if family == Sans {
		style = d.style
	}
	key := family + style
	if key == d.curKey && d.size == d.curSize {
		return // gofpdf's SetFont would find the same, more slowly
	}
	if !d.added[key] {
		b, err := fontFS.ReadFile("fonts/" + fontFiles[key])
		if err != nil {
			d.F.SetError(err)
			return
		}
		d.F.AddUTF8FontFromBytes(family, style, b)
		d.added[key] = true
	}
	d.F.SetFont(family, style, d.size)
	d.curKey, d.curSize = key, d.size
}

// Run is a piece of text drawn in one font.
type Run struct {
	Family string
	Text   string
}

// familyOf returns the font family for a rune, or "" for a rune any font
// draws (spaces, digits, punctuation), which joins the run it is in.
func familyOf(r rune) string {
	switch {
	case r >= 0x0600 && r <= 0x06FF, r >= 0x0750 && r <= 0x077F, r >= 0x08A0 && r <= 0x08FF,
		r >= 0xFB50 && r <= 0xFDFF, r >= 0xFE70 && r <= 0xFEFF:
		return arabic
	case r >= 0x0590 && r <= 0x05FF, r >= 0xFB1D && r <= 0xFB4F:
		return hebrew
	case r >= 0x0900 && r <= 0x097F, r >= 0xA8E0 && r <= 0xA8FF, r == 0x200C, r == 0x200D:
		return devanagari
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul),
		r >= 0x3000 && r <= 0x303F, r >= 0xFF00 && r <= 0xFFEF:
		return cjk
	case r < 0x80 && (unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsDigit(r) || unicode.IsSymbol(r)):
		return ""
	}
	return Sans
}

// rtl reports whether a family is written right to left.
func rtl(family string) bool { return family == arabic || family == hebrew }

// Clean removes what must not be drawn: bidirectional controls (which
// could reorder the text around a name), other control characters but
// newlines and tabs, and invalid UTF-8.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
			return -1
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// Runs cuts cleaned text into runs by script. Neutral characters stay in
// the run they are in; the spaces and digits between two right-to-left
// words stay in their run, but a run never ends in a space (so a line
// breaks between runs, not inside a right-to-left phrase's order).
func Runs(s string) []Run {
	var out []Run
	var cur strings.Builder
	fam := ""
	flush := func() {
		if cur.Len() > 0 {
			f := fam
			if f == "" {
				f = Sans
			}
			out = append(out, Run{Family: f, Text: cur.String()})
			cur.Reset()
		}
	}
	for _, r := range Clean(s) {
		f := familyOf(r)
		if f != "" && f != fam {
			if fam == "" {
				fam = f // neutral text so far joins the first script
			} else {
				flush()
				fam = f
			}
		}
		cur.WriteRune(r)
	}
	flush()
	for i := range out {
		if rtl(out[i].Family) {
			out[i].Text = visual(out[i].Text)
		}
	}
	return out
}

// visual reverses a right-to-left run into drawing order, keeping each
// combining mark after its base letter and runs of digits and Latin
// letters in their own order.
func visual(s string) string {
	var clusters []string
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) && len(clusters) > 0:
			clusters[len(clusters)-1] += string(r)
		case (r < 0x80 && (unicode.IsDigit(r) || unicode.IsLetter(r))) && len(clusters) > 0 && isLTR(clusters[len(clusters)-1]):
			clusters[len(clusters)-1] += string(r)
		default:
			clusters = append(clusters, string(r))
		}
	}
	var b strings.Builder
	for i := len(clusters) - 1; i >= 0; i-- {
		b.WriteString(mirror(clusters[i]))
	}
	return b.String()
}

func isLTR(c string) bool {
	r := []rune(c)[0]
	return r < 0x80 && (unicode.IsDigit(r) || unicode.IsLetter(r))
}

// mirror swaps paired brackets, which a right-to-left run draws facing
// the other way.
func mirror(c string) string {
	switch c {
	case "(":
		return ")"
	case ")":
		return "("
	case "[":
		return "]"
	case "]":
		return "["
	}
	return c
}

// Width returns the width of text in the current style and size.
func (d *Doc) Width(s string) float64 {
	w := 0.0
	for _, r := range Runs(s) {
		d.use(r.Family)
		w += d.F.GetStringWidth(r.Text)
	}
	d.use(Sans)
	return w
}

// Write flows text from the current position, wrapping at the right
// margin between words, in lines h high; newlines break lines. It measures
// words itself: gofpdf's Write counts a combining mark (a Devanagari vowel
// sign) as a full line wide.
func (d *Doc) Write(h float64, s string) {
	f := d.F
	pad := f.GetCellMargin()
	f.SetCellMargin(0)
	defer f.SetCellMargin(pad)
	left, _, rm, _ := f.GetMargins()
	pw, _ := f.GetPageSize()
	right := pw - rm
	newline := func() { f.SetXY(left, f.GetY()+h) }
	for _, r := range Runs(s) {
		d.use(r.Family)
		for _, tok := range tokens(r.Text) {
			switch tok {
			case "\n":
				newline()
			case " ":
				if f.GetX() > left {
					f.SetX(f.GetX() + f.GetStringWidth(" "))
				}
			default:
				w := f.GetStringWidth(tok)
				if f.GetX()+w > right+0.01 && f.GetX() > left {
					newline()
				}
				f.CellFormat(w, h, tok, "", 0, "L", false, 0, "")
			}
		}
	}
	d.use(Sans)
}

// tokens splits text into words, single spaces and newlines.
func tokens(s string) []string {
	var out []string
	start := 0
	for i, c := range s {
		if c == ' ' || c == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			out = append(out, string(c))
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Para writes a paragraph at the left margin and moves below it.
func (d *Doc) Para(h float64, s string) {
	d.F.SetX(d.left())
	d.Write(h, s)
	d.F.Ln(h)
}

func (d *Doc) left() float64 { l, _, _, _ := d.F.GetMargins(); return l }

// Block writes text wrapped between x and the right margin, starting at
// the current line, and moves below it: the value column of a label and
// value pair.
func (d *Doc) Block(x, h float64, s string) {
	l, t, r, _ := d.F.GetMargins()
	d.F.SetLeftMargin(x)
	d.F.SetX(x)
	d.Write(h, s)
	d.F.SetMargins(l, t, r)
	d.F.Ln(h)
	d.F.SetX(l)
}

// Cell draws text on one line in a box w wide (clipped with an ellipsis
// if too long), aligned "L", "C" or "R", and moves right (ln 0) or to the
// next line (ln 1). border and fill are as gofpdf's CellFormat.
func (d *Doc) Cell(w, h float64, s, border string, ln int, align string, fill bool) {
	pad := d.F.GetCellMargin()
	if plainASCII(s) {
		// The common case (record tables: times, numbers, addresses):
		// one run in the Latin font, drawn by gofpdf itself.
		d.use(Sans)
		if d.F.GetStringWidth(s) > w-2*pad {
			s = d.clip(s, w-2*pad)
		}
		d.F.CellFormat(w, h, s, border, ln, align, fill, 0, "")
		if ln == 1 {
			d.F.SetX(d.left())
		}
		return
	}
	s = strings.ReplaceAll(Clean(s), "\n", " ")
	if d.Width(s) > w-2*pad {
		s = d.clip(s, w-2*pad)
	}
	x, y := d.F.GetXY()
	d.F.CellFormat(w, h, "", border, 0, "", fill, 0, "")
	tw := d.Width(s)
	tx := x + pad
	switch align {
	case "C":
		tx = x + (w-tw)/2
	case "R":
		tx = x + w - pad - tw
	}
	d.F.SetXY(tx, y)
	for _, r := range Runs(s) {
		d.use(r.Family)
		rw := d.F.GetStringWidth(r.Text)
		d.F.CellFormat(rw, h, r.Text, "", 0, "L", false, 0, "")
	}
	d.use(Sans)
	if ln == 1 {
		d.F.SetXY(d.left(), y+h)
	} else {
		d.F.SetXY(x+w, y)
	}
}

// clip shortens s to fit w with an ellipsis, measuring each rune once.
func (d *Doc) clip(s string, w float64) string {
	avail := w - d.Width("…")
	used := 0.0
	for i, r := range s {
		used += d.Width(string(r))
		if used > avail {
			return s[:i] + "…"
		}
	}
	return s
}

// plainASCII reports whether s is printable ASCII: one run in the Latin
// font, nothing to clean.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
