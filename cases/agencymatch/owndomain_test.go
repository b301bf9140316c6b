package agencymatch

import "testing"

// An agency's own domain is one only it writes from: never a public
// webmail provider, nor a public suffix under which anyone registers.
func TestOwnDomainProblem(t *testing.T) {
	for d, bad := range map[string]bool{
		"gmail.com": true, "outlook.com": true, "proton.me": true, "co.uk": true, "com": true, "gov.uk": true,
		"fbi.gov": false, "met.police.uk": false, "bka.bund.de": false, "interieur.gouv.fr": false, "justice.fr": false,
	} {
		if got := OwnDomainProblem(d) != ""; got != bad {
			t.Errorf("%s: refused %v, want %v (%q)", d, got, bad, OwnDomainProblem(d))
		}
	}
}
