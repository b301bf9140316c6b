package cases

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// CanonicalPhone returns an international number as typed by a person
// ("+44 20 7230 1212", "+1 (202) 324-3000") in E.164, or s unchanged when
// it is not one: so that a number read off a screen compares equal to the
// same number stored in E.164, and anything else still fails the
// comparison it is checked by.
func CanonicalPhone(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		return s
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return s
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}
