package cases

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// libraryValid is the decision validE164Digits stands in for.
func libraryValid(s string) bool {
	n, err := phonenumbers.Parse(s, "")
	return err == nil && phonenumbers.IsValidNumber(n)
}

// checkFast fails t when the fast path, where it answers, disagrees
// with the library about "+"+d.
func checkFast(t *testing.T, d string) (known bool) {
	t.Helper()
	valid, known := validE164Digits(d)
	if known && valid != libraryValid("+"+d) {
		t.Errorf("+%s: fast path says valid=%v, phonenumbers the opposite", d, valid)
	}
	return known
}

// TestPhoneFastMatchesLibrary compares the compiled validator with
// phonenumbers over every calling code: each region's example number of
// each type, every digit of it changed, cut short and lengthened, and
// random national numbers of every length E.164 allows.
func TestPhoneFastMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 18))
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	var checked, known int
	check := func(d string) {
		checked++
		if checkFast(t, d) {
			known++
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		prefix := strconv.Itoa(cc)
		var examples []string
		for _, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
			for _, typ := range types {
				var n *phonenumbers.PhoneNumber
				if region == "001" {
					n = phonenumbers.GetExampleNumberForNonGeoEntity(cc)
				} else {
					n = phonenumbers.GetExampleNumberForType(region, typ)
				}
				if n != nil {
					examples = append(examples, phonenumbers.GetNationalSignificantNumber(n))
				}
			}
		}
		for _, nsn := range examples {
			for i := range len(nsn) + 1 {
				check(prefix + nsn[:i])
			}
			for i := range len(nsn) {
				for d := byte('0'); d <= '9'; d++ {
					check(prefix + nsn[:i] + string(d) + nsn[i+1:])
				}
			}
			check(prefix + nsn + "0")
			check(prefix + "0" + nsn)
		}
		for length := 1; len(prefix)+length <= 15; length++ {
			for range 20 {
				b := make([]byte, length)
				for i := range b {
					b[i] = byte('0' + rng.IntN(10))
				}
				check(prefix + string(b))
			}
		}
	}
	// Calling codes that do not exist, and too short numbers.
	for _, d := range []string{"1", "12", "99", "999", "9991234567", "2", "28012345678", "0123"} {
		check(d)
	}
	t.Logf("%d numbers compared, %d answered by the fast path", checked, known)
	if known < checked*9/10 {
		t.Errorf("the fast path answered only %d of %d numbers", known, checked)
	}
}

// FuzzPhoneFast: the compiled validator never disagrees with the library.
func FuzzPhoneFast(f *testing.F) {
	for _, s := range []string{"14155550123", "447911123456", "12025550100", "390612345678", "80012345678", "8821234567", "0", "1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		if len(d) > 15 {
			return
		}
		for i := 0; i < len(d); i++ {
			if d[i] < '0' || d[i] > '9' {
				return
			}
		}
		checkFast(t, d)
	})
}
