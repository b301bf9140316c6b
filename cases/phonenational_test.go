package cases_test

import (
	"testing"

	"envelope/cases"
)

// A national-format number is read with the agency's country; anything
// else is left for the validation to refuse with the field named.
func TestNationalToE164(t *testing.T) {
	for _, c := range []struct{ in, country, want string }{
		{"(415) 555-0123", "US", "+14155550123"},
		{"4155550123", "US", "+14155550123"},
		{"07911 123456", "GB", "+447911123456"},
		{"+14155550123", "GB", "+14155550123"},
		{"555-0123", "US", "555-0123"},
		{"07911 123456", "", "07911 123456"},
	} {
		if got := cases.NationalToE164(c.in, c.country); got != c.want {
			t.Errorf("NationalToE164(%q, %q) = %q, want %q", c.in, c.country, got, c.want)
		}
	}
}
