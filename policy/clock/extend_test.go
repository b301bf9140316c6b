package clock

import (
	"strings"
	"testing"
	"time"

	"envelope/cases"
)

// Unextendable: no rule with an extension (an EU production order), one
// left (an EU preservation order before its one 30 days), all used.
func TestUnextendable(t *testing.T) {
	c := Default()
	at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	if why := c.Unextendable(Input{Process: cases.EUProductionOrder, Country: "FR", ReceivedAt: at}); !strings.Contains(why, "no clock rule") {
		t.Errorf("production order: %q", why)
	}
	in := Input{Process: cases.EUPreservationOrder, Country: "FR", ReceivedAt: at}
	if why := c.Unextendable(in); why != "" {
		t.Errorf("preservation, not yet extended: %q", why)
	}
	in.Events = []Event{{Action: "case.extend", At: at.Add(time.Hour)}}
	if why := c.Unextendable(in); !strings.Contains(why, "EU-PRESERVATION-60D allows 1 extension, all used") {
		t.Errorf("preservation, extended once: %q", why)
	}
}
