package cases

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NationalToE164 returns a phone number typed in national format ("(415)
// 555-0123", "07700 900123") in E.164, read with the agency's country, so
// that it is stored, compared and found like the same number sent with
// its +. A value already international, or not a valid number of that
// country, is returned unchanged and the validation names the field.
func NationalToE164(s, country string) string {
	t := strings.TrimSpace(s)
	if t == "" || strings.HasPrefix(t, "+") || country == "" || HasWildcard(t) {
		return s
	}
	n, err := phonenumbers.Parse(t, strings.ToUpper(country))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return s
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}
