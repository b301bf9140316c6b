package cases

import (
	"bytes"
	"fmt"
	"net/mail"
	"slices"
	"strings"
)

// Org is the organisation profile: who the platform is on its letters and
// certificates. Letters are signed by its custodian of records and printed
// on its letterhead, in the paper size of the recipient's country.
type Org struct {
	// LegalName is the legal entity that produces records and certifies
	// them, e.g. "Example Messaging, Inc.".
	LegalName string `json:"legal_name"`
	// Address is the postal address, one line per line.
	Address string `json:"address"`
	// Contact is where an agency sends questions (email and phone).
	ContactEmail string `json:"contact_email"`
	ContactPhone string `json:"contact_phone,omitempty"`
	// The custodian of records signs certificates and letters.
	CustodianName  string `json:"custodian_name"`
	CustodianTitle string `json:"custodian_title"`
	// TypedSignature is printed as the signature when there is no image
	// ("/s/ Jane Roe"); SignatureImage is a PNG or JPEG of a signature.
	TypedSignature string `json:"typed_signature,omitempty"`
	SignatureImage []byte `json:"signature_image,omitempty"`
	// Logo is the letterhead's logo, PNG or JPEG.
	Logo []byte `json:"logo,omitempty"`
	// LetterCountries are the ISO country codes whose recipients get US
	// Letter paper; everyone else gets A4.
	LetterCountries []string `json:"letter_countries"`
}

// DefaultLetterCountries use US Letter paper: the United States and
// Canada (and the rest of the world A4).
var DefaultLetterCountries = []string{"US", "CA"}

// MaxOrgImage bounds the logo and signature images.
const MaxOrgImage = 1 << 20

// Paper returns the paper size for a recipient in country: "Letter" or
// "A4".
func (o *Org) Paper(country string) string {
	list := o.LetterCountries
	if len(list) == 0 {
		list = DefaultLetterCountries
	}
	if slices.Contains(list, strings.ToUpper(strings.TrimSpace(country))) {
		return "Letter"
	}
	return "A4"
}

// Complete reports whether the profile can sign letters: a legal name and
// a custodian with a title.
func (o *Org) Complete() bool {
	return o.LegalName != "" && o.CustodianName != "" && o.CustodianTitle != ""
}

// ImageType returns "PNG" or "JPG" for an image's bytes, or "".
func ImageType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "PNG"
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "JPG"
	}
	return ""
}

// Normalize trims the text fields and upper-cases the country codes.
func (o *Org) Normalize() {
	for _, p := range []*string{&o.LegalName, &o.ContactEmail, &o.ContactPhone, &o.CustodianName, &o.CustodianTitle, &o.TypedSignature} {
		*p = strings.TrimSpace(*p)
	}
	o.Address = strings.TrimSpace(strings.ReplaceAll(o.Address, "\r\n", "\n"))
	var cs []string
	for _, c := range o.LetterCountries {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" && !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	o.LetterCountries = cs
}

// Validate checks a normalised profile, naming every bad field.
func (o *Org) Validate() error {
	f := fieldErrors{}
	for name, v := range map[string]string{"legal_name": o.LegalName, "address": o.Address,
		"custodian_name": o.CustodianName, "custodian_title": o.CustodianTitle, "contact_email": o.ContactEmail} {
		if v == "" {
			f.add(name, "is required")
		}
	}
	for name, v := range map[string]string{"legal_name": o.LegalName, "address": o.Address, "contact_email": o.ContactEmail,
		"contact_phone": o.ContactPhone, "custodian_name": o.CustodianName, "custodian_title": o.CustodianTitle,
		"typed_signature": o.TypedSignature} {
		if msg := TextProblem(v); msg != "" {
			f.add(name, "%s", msg)
		} else if len(v) > 500 {
			f.add(name, "is longer than 500 bytes")
		}
	}
	if o.ContactEmail != "" {
		if a, err := mail.ParseAddress(o.ContactEmail); err != nil || a.Address != o.ContactEmail {
			f.add("contact_email", "must be an email address such as lers@example.com")
		}
	}
	for name, img := range map[string][]byte{"logo": o.Logo, "signature_image": o.SignatureImage} {
		if len(img) == 0 {
			continue
		}
		if ImageType(img) == "" {
			f.add(name, "must be a PNG or JPEG image")
		} else if len(img) > MaxOrgImage {
			f.add(name, "is larger than %d bytes", MaxOrgImage)
		}
	}
	for _, c := range o.LetterCountries {
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			f.add("letter_countries", "%q is not a two-letter country code", c)
		}
	}
	return f.err()
}

// ParseOrg reads a profile from its JSON file form (the fields of Org;
// images as base64, or loaded by the caller from files). Unknown fields
// are refused.
func ParseOrg(b []byte) (*Org, error) {
	var o Org
	if err := DecodeStrict(b, &o); err != nil {
		return nil, err
	}
	o.Normalize()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

// String names the profile for logs.
func (o *Org) String() string { return fmt.Sprintf("%s (custodian %s)", o.LegalName, o.CustodianName) }
