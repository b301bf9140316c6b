package agencymatch

import (
	"strings"
	"testing"
)

// checkPlainDomain fails t when plainDomain passes d by and IDNA would
// not return d itself.
func checkPlainDomain(t *testing.T, d string) (fast bool) {
	t.Helper()
	if !plainDomain(d) {
		return false
	}
	if got, err := normalizeDomain(d); err != nil || got != d {
		t.Fatalf("%q: fast path keeps it, IDNA makes %q, %v", d, got, err)
	}
	return true
}

// TestPlainDomain: the names agencies use take the fast path and IDNA
// agrees; what the fast path leaves to IDNA does not take it.
func TestPlainDomain(t *testing.T) {
	for _, d := range []string{"fbi.gov", "mail.fbi.gov", "met.police.uk", "a-b.c9", "1.2", "x.y-z.example", strings.Repeat("a.", 126) + "b"} {
		if !checkPlainDomain(t, d) {
			t.Errorf("%q did not take the fast path", d)
		}
	}
	for _, d := range []string{"", "fbi", "FBI.gov", ".fbi.gov", "fbi..gov", "fbi.gov.", "-fbi.gov", "fbi-.gov", "xn--bcher-kva.de",
		"ab--c.de", "bücher.de", "fbi_gov.us", "fbi.gov/x", strings.Repeat("a.", 127) + "b"} {
		if checkPlainDomain(t, d) {
			t.Errorf("%q took the fast path", d)
		}
	}
}

// FuzzPlainDomain: whatever the fast path keeps, IDNA keeps as it is.
func FuzzPlainDomain(f *testing.F) {
	for _, d := range []string{"fbi.gov", "a-b.c", "xn--a.b", "a.b.c.d.e"} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d string) { checkPlainDomain(t, d) })
}
