// Package agencymatch tells whether the agency a request names is one of the
// directory's entries, one made to look like an entry, or one the directory
// does not know; and whether an email domain is one of an entry's domains.
//
// It is pure: no storage, no policy. Names are compared after folding
// (Fold), so that spacing, case, punctuation and invisible characters cannot
// make a known agency look unknown; and by their Unicode TR39 confusable
// skeletons (Skeleton), so that a name written with look-alike letters (a
// Cyrillic "е" for a Latin "e") is caught as a look-alike instead of passing
// as a new agency. Domains are compared in their IDNA ASCII form, so an
// internationalised homograph of a directory domain never equals it.
package agencymatch

import (
	"errors"
	"slices"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	xcases "golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Kind is how a request's agency relates to the directory.
type Kind string

const (
	Known     Kind = "known"     // the name (or an alias) folds to an entry's, in the entry's country
	Lookalike Kind = "lookalike" // confusable with an entry, or an entry's name from another country
	Unknown   Kind = "unknown"   // nothing in the directory resembles it
)

// Entry is what matching needs of a directory entry.
type Entry struct {
	ID      int64
	Name    string
	Country string
	Aliases []string
}

// Result is the outcome of Match: for Known the entry it is, for Lookalike
// the entry it resembles, and why.
type Result struct {
	Kind   Kind
	Entry  *Entry
	Reason string
}

var folder = xcases.Fold()

// Fold reduces a name to the form names are compared in: Unicode NFKC
// (compatibility characters such as NBSP or full-width letters become their
// plain forms), case folding, format characters (zero-width spaces and
// joiners, bidi controls, soft hyphens) removed, and every run of
// whitespace and punctuation collapsed to one space.
func Fold(s string) string {
	s = norm.NFKC.String(s)
	s = folder.String(s)
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case invisible(r):
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r):
			space = b.Len() > 0
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	// NFKC again: removing a format character can bring a base letter and
	// a combining mark together.
	return norm.NFKC.String(b.String())
}

// Skeletons are the TR39 confusable skeletons of a name: two names that
// share one look alike to a reader. The table maps letters as written (a
// capital I and a small l share the prototype l, a small i does not), so a
// name's skeletons are taken as written, in lower case and in upper case,
// each with invisible characters and spacing removed first and folded
// after.
func Skeletons(s string) []string {
	plain := strings.Join(strings.FieldsFunc(strip(s), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r)
	}), " ")
	var out []string
	for _, v := range []string{plain, strings.ToLower(plain), strings.ToUpper(plain)} {
		if k := key(Fold(confusables.Skeleton(v))); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// key is a folded name without its spaces, the form names are compared in:
// "F.B.I." and "FBI", "Metropolitan-Police" and "MetropolitanPolice" are
// one name.
func key(folded string) string { return strings.ReplaceAll(folded, " ", "") }

// strip applies NFKC and removes invisible characters.
func strip(s string) string {
	return strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, norm.NFKC.String(s))
}

// invisible reports format characters (zero-width, bidi controls, soft
// hyphen) and variation selectors.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || r >= 0xFE00 && r <= 0xFE0F
}

func shareAny(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Index holds directory entries with their folded names and skeletons
// worked out once, for matching many names (a policy replay of every
// stored case) without folding the directory again for each.
type Index struct {
	entries []Entry
	names   [][]indexed // per entry: its name, then its aliases
}

type indexed struct {
	key   string
	skels []string
}

// NewIndex indexes entries for Match.
func NewIndex(entries []Entry) *Index {
	x := &Index{entries: entries, names: make([][]indexed, len(entries))}
	for i, e := range entries {
		for _, n := range append([]string{e.Name}, e.Aliases...) {
			x.names[i] = append(x.names[i], indexed{key: key(Fold(n)), skels: Skeletons(n)})
		}
	}
	return x
}

// Match finds the directory entry a request's agency (name and country) is.
// An entry's name or one of its aliases folding to the same form (spaces
// aside) in the same country is Known. The same folded name in another
// country, or a name whose skeleton equals an entry's, is Lookalike: a
// forger's spelling of a real agency. Anything else is Unknown.
func Match(name, country string, entries []Entry) Result {
	return NewIndex(entries).Match(name, country)
}

// Match is Match on the indexed entries.
func (x *Index) Match(name, country string) Result {
	folded, skel := key(Fold(name)), Skeletons(name)
	country = strings.ToUpper(strings.TrimSpace(country))
	var elsewhere, confusable *Entry
	for i := range x.entries {
		e := &x.entries[i]
		for _, n := range x.names[i] {
			switch {
			case n.key == folded && folded != "":
				if e.Country == country {
					return Result{Kind: Known, Entry: e}
				}
				if elsewhere == nil {
					elsewhere = e
				}
			case confusable == nil && shareAny(n.skels, skel):
				confusable = e
			}
		}
	}
	switch {
	case elsewhere != nil:
		return Result{Kind: Lookalike, Entry: elsewhere,
			Reason: "has the name of " + elsewhere.Name + " (" + elsewhere.Country + ") but says it is in " + country}
	case confusable != nil:
		return Result{Kind: Lookalike, Entry: confusable,
			Reason: "is written with characters that look like " + confusable.Name + " (" + confusable.Country + ") but is not that name"}
	}
	return Result{Kind: Unknown}
}

// ErrDomain is returned by NormalizeDomain for what is not a domain name.
var ErrDomain = errors.New("is not a domain name")

// NormalizeDomain returns a domain name in the form domains are compared
// in: surrounding space and one trailing dot removed, IDNA ASCII (punycode)
// lower case. It refuses what cannot be a host's domain: no dot, an
// address, a URL, a label IDNA refuses.
func NormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if plainDomain(d) {
		return d, nil
	}
	return normalizeDomain(d)
}

// normalizeDomain is NormalizeDomain for a trimmed name that is not
// plain: IDNA decides.
func normalizeDomain(d string) (string, error) {
	if d == "" || strings.ContainsAny(d, "@/\\: ") || strings.ContainsFunc(d, invisible) || len(d) > 253 {
		return "", ErrDomain
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil || !strings.Contains(a, ".") || strings.HasPrefix(a, ".") || strings.Contains(a, "..") {
		return "", ErrDomain
	}
	return strings.ToLower(a), nil
}

// plainDomain reports whether d is a name NormalizeDomain returns as it
// is: lower-case ASCII letters, digits and hyphens in two or more
// non-empty labels, none starting or ending with a hyphen or with
// hyphens in its third and fourth places (IDNA's own "xn--" and the
// like), at most 253 bytes. IDNA's lookup profile maps each such name to
// itself; everything else goes to it (FuzzPlainDomain holds the two
// together). idna was a fifth of a decision on the spec's sample.
func plainDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	start := 0 // of the label being read
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			if c := d[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		label := d[start:i]
		n := len(label)
		if n == 0 || label[0] == '-' || label[n-1] == '-' || n >= 4 && label[2] == '-' && label[3] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}

// publicMail are email providers anyone can open an account with: no
// agency's own domain, whatever a form says.
var publicMail = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "live.com": true,
	"msn.com": true, "yahoo.com": true, "ymail.com": true, "icloud.com": true, "me.com": true, "aol.com": true,
	"proton.me": true, "protonmail.com": true, "gmx.com": true, "gmx.net": true, "gmx.de": true, "web.de": true,
	"mail.com": true, "mail.ru": true, "yandex.ru": true, "yandex.com": true, "qq.com": true, "163.com": true,
	"zoho.com": true, "tutanota.com": true,
}

// OwnDomainProblem says why a normalised domain cannot be an agency's own
// (a public suffix such as co.uk, under which anyone registers names, or
// a public email provider such as gmail.com), or "" if it can.
func OwnDomainProblem(d string) string {
	if publicMail[d] {
		return "is a public email provider: anyone can write from it"
	}
	if ps, icann := publicsuffix.PublicSuffix(d); ps == d && icann {
		return "is a public suffix, under which anyone registers names"
	}
	return ""
}

// EmailDomain returns the normalised domain of an email address, or false
// when it has none that NormalizeDomain accepts.
func EmailDomain(email string) (string, bool) {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return "", false
	}
	d, err := NormalizeDomain(email[at+1:])
	return d, err == nil
}

// Within reports whether domain (normalised) is one of domains (normalised)
// or a subdomain of one: mail.fbi.gov is within fbi.gov; fbi.gov.evil.com
// and fbi-gov.us are not.
func Within(domain string, domains []string) bool {
	for _, d := range domains {
		if d != "" && (domain == d || strings.HasSuffix(domain, "."+d)) {
			return true
		}
	}
	return false
}
