package remind

import (
	"testing"
	"time"
)

// An alert says how long is left, or how long ago the deadline passed, in
// words a person reads at a glance (the demo showed "-257h0m0s left").
func TestAlertTimesInWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * time.Second:                "2 min",
		2*time.Hour + 5*time.Minute:     "2 h 05 min",
		30 * time.Hour:                  "1 day 6 h",
		257 * time.Hour:                 "10 days 17 h",
		59*time.Minute + 50*time.Second: "1 h 00 min",
	} {
		if got := words(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	c := Config{UrgentLead: 2 * time.Hour}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	late := &openCase{Process: "emergency", DueAt: now.Add(-257 * time.Hour), ReceivedAt: now.Add(-260 * time.Hour)}
	if why, ok := c.atRisk(late, now); !ok || why != "urgent case not yet answered, 10 days 17 h past its deadline" {
		t.Errorf("past the deadline: %q %v", why, ok)
	}
}
