package store_test

import (
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// pngHeader is enough of a PNG for the profile's type check.
var pngHeader = []byte("\x89PNG\r\n\x1a\nrest")

// The profile is saved and read back whole, bad input names each field and
// writes nothing, and every save is audited with images by hash.
func TestOrgProfile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, ok, err := db.Org(ctx); ok || err != nil {
			t.Fatalf("a new database has a profile: %v %v", ok, err)
		}
		bad := &cases.Org{LegalName: "X", ContactEmail: "not an email", Logo: []byte("GIF89a"), LetterCountries: []string{"USA"}}
		err := db.SetOrg(ctx, "ada@example.org", bad)
		fields := cases.ErrorFields(err)
		for _, f := range []string{"address", "custodian_name", "custodian_title", "contact_email", "logo", "letter_countries"} {
			if fields[f] == "" {
				t.Errorf("no error for %s: %v", f, err)
			}
		}
		if _, ok, _ := db.Org(ctx); ok {
			t.Fatal("an invalid profile was saved")
		}
		o := &cases.Org{LegalName: " Example Messaging, Inc. ", Address: "1 Main St\r\nPalo Alto, CA 94301",
			ContactEmail: "lers@example.com", CustodianName: "Jordan Lee", CustodianTitle: "Custodian of Records",
			TypedSignature: "/s/ Jordan Lee", Logo: pngHeader, LetterCountries: []string{"us", "ca", "mx"}}
		if err := db.SetOrg(ctx, "ada@example.org", o); err != nil {
			t.Fatal(err)
		}
		o.CustodianTitle = "Records Custodian"
		if err := db.SetOrg(ctx, "ada@example.org", o); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.Org(ctx)
		if err != nil || !ok || got.LegalName != "Example Messaging, Inc." || got.Address != "1 Main St\nPalo Alto, CA 94301" ||
			string(got.Logo) != string(pngHeader) || got.CustodianTitle != "Records Custodian" || got.Paper("mx") != "Letter" || got.Paper("DE") != "A4" {
			t.Fatalf("read back: %+v %v %v", got, ok, err)
		}
		var n int
		var after string
		db.Reader().Get(&n, "SELECT COUNT(*) FROM audit_events WHERE action = 'org.update'")
		db.Reader().Get(&after, "SELECT after_json FROM audit_events WHERE action = 'org.update' ORDER BY seq DESC LIMIT 1")
		if n != 2 || !strings.Contains(after, `"logo":"sha256:`) || !strings.Contains(after, "Records Custodian") {
			t.Errorf("audit: %d %s", n, after)
		}
	})
}
