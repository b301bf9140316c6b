package agencymatch

import "testing"

var directory = []Entry{
	{ID: 1, Name: "Metropolitan Police Service", Country: "GB", Aliases: []string{"Met Police"}},
	{ID: 2, Name: "Federal Bureau of Investigation", Country: "US", Aliases: []string{"FBI"}},
	{ID: 3, Name: "Polícia Federal", Country: "BR"},
}

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Metropolitan Police Service", "metropolitan police service"},
		{"  Metropolitan   Police\tService. ", "metropolitan police service"},
		{"Metropolitan\u00a0Police Service", "metropolitan police service"},              // NBSP
		{"Metro\u200bpolitan Police Service", "metropolitan police service"},             // zero-width space
		{"Metropolitan\u202e Police\u202c Service", "metropolitan police service"},       // bidi override
		{"\ufeffMetropolitan Police\u2060 Service\u00ad", "metropolitan police service"}, // BOM, word joiner, soft hyphen
		{"ＭＥＴＲＯＰＯＬＩＴＡＮ police service", "metropolitan police service"},                   // full-width
		{"Metropolitan-Police/Service!!", "metropolitan police service"},
		{"STRASSE", "strasse"}, {"Straße", "strasse"}, // case folding, not just lower-casing
		{"Polícia Federal", "polícia federal"},
		{"Poli\u0301cia Federal", "polícia federal"}, // combining accent composes
		{"", ""}, {"...", ""},
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		name, country string
		kind          Kind
		id            int64
	}{
		{"Metropolitan Police Service", "GB", Known, 1},
		{"metropolitan police service", "gb", Known, 1},
		{"Metropolitan Police Service.", "GB", Known, 1},            // trailing period
		{"Metropolitan\u200b Police Service", "GB", Known, 1},       // ZWSP
		{"Metropolitan\u00a0Police Service", "GB", Known, 1},        // NBSP
		{"\u202eMetropolitan Police Service\u202c", "GB", Known, 1}, // bidi override
		{"Met Police", "GB", Known, 1},                              // alias
		{"FBI", "US", Known, 2},
		{"F.B.I.", "US", Known, 2},
		{"Metropolitan-Police-Service", "GB", Known, 1},
		{"Metropolitan Police S\u0435rvice", "GB", Lookalike, 1},           // Cyrillic е
		{"Metr\u043Ep\u043Elitan P\u043Elice Service", "GB", Lookalike, 1}, // Cyrillic о, mixed scripts
		{"Federal Bureau of Investigati\u043En", "US", Lookalike, 2},
		{"Federal Bureau of lnvestigation", "US", Lookalike, 2}, // l for I
		{"F\u0392I", "US", Lookalike, 2},                        // Greek Beta in an alias
		{"FEDERAL BUREAU OF lNVESTIGATION", "US", Lookalike, 2},
		{"Metropolitan Police Service", "US", Lookalike, 1}, // right name, wrong country
		{"Policia Federal", "BR", Unknown, 0},               // without its accent it is another word
		{"Federal Bureau of Investigations", "US", Unknown, 0},
		{"Metropolitan Police", "GB", Unknown, 0},
		{"Springfield Police Department", "US", Unknown, 0},
		{"", "US", Unknown, 0},
		{"\u200b", "US", Unknown, 0},
	} {
		r := Match(tc.name, tc.country, directory)
		var id int64
		if r.Entry != nil {
			id = r.Entry.ID
		}
		if r.Kind != tc.kind || id != tc.id {
			t.Errorf("Match(%q, %s) = %s %d (%s), want %s %d", tc.name, tc.country, r.Kind, id, r.Reason, tc.kind, tc.id)
		}
		if r.Kind == Lookalike && r.Reason == "" {
			t.Errorf("Match(%q): a look-alike without a reason", tc.name)
		}
	}
}

func TestDomains(t *testing.T) {
	dir := []string{"fbi.gov", "ic.fbi.gov", "met.police.uk"}
	for _, tc := range []struct {
		email string
		in    bool
	}{
		{"dreyes@fbi.gov", true},
		{"dreyes@FBI.GOV", true},           // upper case
		{"dreyes@fbi.gov.", true},          // trailing dot
		{"dreyes@field.ny.fbi.gov", true},  // subdomain
		{"dreyes@fbi.gov.evil.com", false}, // directory domain as a prefix
		{"dreyes@fbi-gov.us", false},       // look-alike domain
		{"dreyes@evilfbi.gov", false},      // suffix without a dot boundary
		{"dreyes@fb\u0456.gov", false},     // IDN homograph (Cyrillic і)
		{"dreyes@xn--fb-0ed.gov", false},   // the same, in punycode
		{"dreyes@f\u200bbi.gov", false},    // invisible character in the domain
		{"dreyes@gmail.com", false},
		{"dreyes", false}, {"", false}, {"dreyes@", false}, {"a@b@fbi.gov", true},
	} {
		d, ok := EmailDomain(tc.email)
		if got := ok && Within(d, dir); got != tc.in {
			t.Errorf("%q: within = %v (domain %q), want %v", tc.email, got, d, tc.in)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"FBI.gov", "fbi.gov"}, {" ic.fbi.gov. ", "ic.fbi.gov"}, {"bücher.de", "xn--bcher-kva.de"},
	} {
		if got, err := NormalizeDomain(tc.in); err != nil || got != tc.want {
			t.Errorf("NormalizeDomain(%q) = %q %v, want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "localhost", "officer@fbi.gov", "https://fbi.gov", "fbi..gov", ".fbi.gov", "fbi gov.com", "-fbi.gov/x"} {
		if d, err := NormalizeDomain(bad); err == nil {
			t.Errorf("NormalizeDomain(%q) = %q, want an error", bad, d)
		}
	}
}
