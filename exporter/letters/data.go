package letters

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"envelope/cases"
)

// Data is what a template sees: the public facts of a case, worded for
// the recipient. It holds no internal note, policy version, rule
// identifier or approver.
type Data struct {
	Org           *cases.Org
	Date          string // the letter's date, "2 January 2006"
	CaseNumber    string
	Recipient     []string // name, agency, country, email: the address block
	Salutation    string
	Agency        string
	AgencyCountry string
	Process       string // the process type's label
	ProcessLower  string
	Reference     string
	Authority     string
	Received      string
	Targets       []string // "+14155550123 (phone number)"
	Period        string   // the period requested, or ""
	Nondisclosure bool     // a nondisclosure order stands
	PreserveUntil string
	Package       int // the production's number, 0 outside a production
	SigningKey    string
	Produced      []Category
	Withheld      []Withheld
	Questions     []string
	EU            bool // an order from an EU Member State: refusals cite Form 3
	EUReasons     []string
	Files         []File
	CSVNotice     string
}

// Category is a category produced.
type Category struct {
	Label       string
	Period      string
	Records     int64
	RecordsText string // "3 records" or "no records found"
}

// Withheld is a category not produced, and why, in words for the
// recipient.
type Withheld struct {
	Label  string
	Reason string
}

// File is a file the certificate identifies.
type File struct {
	Path   string
	Size   int64
	SHA256 string
}

// Contact is where questions go: the profile's email and phone.
func (d *Data) Contact() string {
	parts := []string{d.Org.ContactEmail}
	if d.Org.ContactPhone != "" {
		parts = append(parts, d.Org.ContactPhone)
	}
	return strings.Join(parts, " or ")
}

// ProducedList is the produced categories in a sentence.
func (d *Data) ProducedList() string {
	var ls []string
	for _, c := range d.Produced {
		ls = append(ls, strings.ToLower(c.Label))
	}
	return strings.Join(ls, ", ")
}

// Day formats a date as letters print it.
func Day(t time.Time) string { return t.UTC().Format("2 January 2006") }

// PeriodText is a window in words: its first and last day (the window's
// end is exclusive, so the last day is the one before it), in UTC.
func PeriodText(w *cases.Window) string {
	if w == nil {
		return ""
	}
	last := w.To.Add(-time.Nanosecond)
	if w.From.Truncate(24*time.Hour).Equal(w.From) && w.To.Truncate(24*time.Hour).Equal(w.To) {
		return fmt.Sprintf("%s to %s", Day(w.From), Day(last))
	}
	return fmt.Sprintf("%s to %s UTC", w.From.UTC().Format("2 January 2006 15:04"), w.To.UTC().Format("2 January 2006 15:04"))
}

// FromCase gathers the data of a letter about case c from org, dated at.
// The decision, if any, gives what was produced and withheld.
func FromCase(c *cases.Case, org *cases.Org, at time.Time) *Data {
	d := &Data{
		Org: org, Date: Day(at), CaseNumber: c.Number,
		Agency: c.Agency.Name, AgencyCountry: cases.CountryName(c.Agency.Country),
		Process: c.Process.Type.Label(), Reference: c.Process.Reference, Authority: c.Process.IssuingAuthority,
		Received: Day(c.ReceivedAt), Period: PeriodText(c.Window),
		EU: IsEUOrder(c),
	}
	if d.Process != "" {
		d.ProcessLower = strings.ToLower(d.Process[:1]) + d.Process[1:]
	}
	if c.Process.Via != cases.ViaDirect {
		d.Process += " (" + c.Process.Via.Label() + ")"
	}
	d.Recipient = nonEmpty(c.Requester.Name, c.Agency.Name, d.AgencyCountry, c.Requester.Email)
	d.Salutation = "Dear Sir or Madam,"
	if c.Requester.Name != "" {
		d.Salutation = "Dear " + c.Requester.Name + ","
	}
	for _, t := range c.Targets {
		d.Targets = append(d.Targets, fmt.Sprintf("%s (%s)", t.Value, strings.ToLower(t.Kind.Label())))
	}
	if u := c.Process.NondisclosureUntil; u != nil && u.After(at) {
		d.Nondisclosure = true
	}
	if dec := c.Decision; dec != nil {
		if dec.UserNotice == cases.NoticeDelayed {
			d.Nondisclosure = true
		}
		if dec.PreserveUntil != nil {
			d.PreserveUntil = Day(*dec.PreserveUntil)
		}
		for _, a := range dec.Allowed {
			if a.Category.Valid() && a.Category != cases.MessageContent {
				d.Produced = append(d.Produced, Category{Label: a.Category.Label(), Period: PeriodText(a.Window)})
			}
		}
		for _, x := range dec.Denied {
			d.Withheld = append(d.Withheld, Withheld{Label: x.Category.Label(), Reason: PublicReason(x, org)})
		}
	}
	if d.EU {
		d.EUReasons = EUReasons(c, d)
	}
	return d
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// productWord finds the product's name in a policy reason: agencies deal
// with the legal entity, not with the software its legal team runs.
var productWord = regexp.MustCompile(`(?i)\benvelope\b`)

// PublicReason is why a category was withheld, as the recipient reads it:
// content has one fixed reason; another category takes the policy's
// explanation unless it speaks of internal matters (the product's name),
// when a neutral reason stands in.
func PublicReason(x cases.Denied, org *cases.Org) string {
	if x.Category == cases.MessageContent {
		return "message content is end-to-end encrypted; " + org.LegalName + " has no access to it and cannot produce it."
	}
	r := strings.TrimSpace(x.Reason)
	if r == "" || productWord.MatchString(r) {
		return "the legal process received does not compel production of this category of records."
	}
	return strings.TrimSuffix(r, ".") + "."
}

// IsEUOrder reports whether a case is an order from an EU Member State's
// authority (a European Production or Preservation Order).
func IsEUOrder(c *cases.Case) bool {
	return cases.IsEUMember(c.Agency.Country) && (c.Process.Type == cases.ForeignCourtOrder || c.Process.Type == cases.Preservation)
}

// EU Form 3 grounds (Regulation (EU) 2023/1543, Annex III: information on
// the impossibility to execute an EPOC or EPOC-PR), as the letter words
// them.
const (
	EUIncomplete   = "The order is incomplete, contains manifest errors or does not contain sufficient information to execute it (Article 10(6))."
	EUNotStored    = "The data requested are not stored by the service provider, or cannot be identified from the information given (Article 10(7))."
	EUContent      = "The data requested include content data that the service provider cannot access: messages are end-to-end encrypted (Article 10(7), de facto impossibility)."
	EUNotCompelled = "The data requested fall outside the categories the order may compel (Article 5)."
)

// EUReasons are the Form 3 grounds of a refusal or partial execution of
// an EU order.
func EUReasons(c *cases.Case, d *Data) []string {
	var out []string
	if c.Decision == nil {
		return []string{EUIncomplete}
	}
	for _, x := range c.Decision.Denied {
		r := EUNotCompelled
		if x.Category == cases.MessageContent {
			r = EUContent
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 && len(d.Produced) == 0 {
		out = append(out, EUNotStored)
	}
	return out
}
