package clock

import (
	"strings"
	"testing"
	"time"

	"envelope/cases"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr(t time.Time) *time.Time { return &t }

// The golden deadlines below were worked out by hand from the Regulation,
// 18 U.S.C. and the calendars of default.yaml, independently of the engine.
// Each names a clock, its rule and its end ("paused", "open", "blocked").
func TestGoldenClocks(t *testing.T) {
	berlin, ny, utc := zone(t, "Europe/Berlin"), zone(t, "America/New_York"), time.UTC
	eu := func(received string, emergency, notified bool, events ...Event) Input {
		return Input{Process: cases.EUProductionOrder, Country: "FR", ReceivedAt: at(received), Emergency: emergency,
			EnforcingStateNotified: notified, Events: events, Zone: berlin}
	}
	tests := []struct {
		name  string
		in    Input
		clock string
		rule  string
		want  string // RFC 3339, or paused / open / blocked
	}{
		{"EU production 10 days", eu("2026-11-20T09:30:00Z", false, false), "due", "EU-EPOC-10D", "2026-11-30T09:30:00Z"},
		{"EU production in an emergency: 8 hours", eu("2026-11-20T09:30:00Z", true, false), "due", "EU-EPOC-EMERGENCY", "2026-11-20T17:30:00Z"},
		{"EU notified: production held 10 days", eu("2026-11-20T09:30:00Z", false, true), "hold", "EU-ENFORCING-HOLD", "2026-11-30T09:30:00Z"},
		{"EU notified emergency: no hold", eu("2026-11-20T09:30:00Z", true, true), "hold", "", ""},
		{"EU notified emergency: objection within 96 hours", eu("2026-11-20T09:30:00Z", true, true), "objection", "EU-ENFORCING-OBJECTION", "2026-11-24T09:30:00Z"},
		{"EU hold lifted early by the enforcing state", eu("2026-11-20T09:30:00Z", false, true, Event{Action: "case.eu_enforcing_confirmed", At: at("2026-11-25T08:00:00Z")}),
			"hold", "EU-ENFORCING-HOLD", "2026-11-25T08:00:00Z"},
		{"EU ground for refusal: nothing produced", eu("2026-11-20T09:30:00Z", false, true, Event{Action: "case.eu_refusal_ground", At: at("2026-11-24T08:00:00Z")}),
			"hold", "EU-ENFORCING-HOLD", "blocked"},
		// Berlin leaves summer time on 2026-10-25: 10 days from 10:00 CEST
		// end at 10:00 CET, which is an hour later in UTC.
		{"EU 10 days across the end of summer time", eu("2026-10-20T08:00:00Z", false, false), "due", "EU-EPOC-10D", "2026-10-30T09:00:00Z"},
		{"EU 8 hours across the end of summer time", eu("2026-10-24T22:30:00Z", true, false), "due", "EU-EPOC-EMERGENCY", "2026-10-25T06:30:00Z"},
		// A clarification stops the clock for 2 days 2.5 hours.
		{"EU paused for a clarification", eu("2026-11-20T09:30:00Z", false, false,
			Event{Action: "case.clarification_request", At: at("2026-11-22T09:30:00Z")}, Event{Action: "case.clarification_answer", At: at("2026-11-24T12:00:00Z")}),
			"due", "EU-EPOC-10D", "2026-12-02T12:00:00Z"},
		{"EU paused and not yet answered", eu("2026-11-20T09:30:00Z", false, false, Event{Action: "case.clarification_request", At: at("2026-11-22T09:30:00Z")}),
			"due", "EU-EPOC-10D", "paused"},
		{"a clarification after the deadline does not move it", eu("2026-11-20T09:30:00Z", true, false,
			Event{Action: "case.clarification_request", At: at("2026-11-21T09:30:00Z")}, Event{Action: "case.clarification_answer", At: at("2026-11-22T09:30:00Z")}),
			"due", "EU-EPOC-EMERGENCY", "2026-11-20T17:30:00Z"},
		{"a new deadline from the authority", eu("2026-11-20T09:30:00Z", false, false,
			Event{Action: "case.deadline_reset", At: at("2026-11-21T09:30:00Z"), DueAt: ptr(at("2026-12-15T17:00:00Z"))}),
			"due", "EU-EPOC-10D", "2026-12-15T17:00:00Z"},
		// EU preservation: 60 days over a month end, one 30-day extension
		// across the start of summer time (2027-03-28).
		{"EU preservation 60 days over February", Input{Process: cases.EUPreservationOrder, Country: "DE", ReceivedAt: at("2026-12-31T10:00:00Z"), Zone: berlin},
			"preserve", "EU-PRESERVATION-60D", "2027-03-01T10:00:00Z"},
		{"EU preservation extended once by 30 days", Input{Process: cases.EUPreservationOrder, Country: "DE", ReceivedAt: at("2026-12-31T10:00:00Z"), Zone: berlin,
			Events: []Event{{Action: "case.extend", At: at("2027-02-20T10:00:00Z")}, {Action: "case.extend", At: at("2027-03-20T10:00:00Z")}}},
			"preserve", "EU-PRESERVATION-60D", "2027-03-31T09:00:00Z"},
		{"EU preservation kept for a linked production order", Input{Process: cases.EUPreservationOrder, Country: "DE", ReceivedAt: at("2026-12-31T10:00:00Z"), Zone: berlin,
			Events: []Event{{Action: "case.eu_production_linked", At: at("2027-01-20T10:00:00Z")}}},
			"preserve", "EU-PRESERVATION-60D", "open"},
		// DE calendar: 24 Dec is a business day, 25 and 26 Dec are holidays.
		{"EU preservation target in DE business days", Input{Process: cases.EUPreservationOrder, Country: "DE", ReceivedAt: at("2026-12-23T10:00:00Z"), Zone: berlin},
			"due", "TARGET-PRESERVATION", "2026-12-28T22:59:59Z"},
		// US preservation: 90 days, then 90 more once.
		{"US preservation 90 days", Input{Process: cases.Preservation, Country: "US", ReceivedAt: at("2026-11-20T09:30:00Z"), Zone: utc},
			"preserve", "US-PRESERVATION-90D", "2027-02-18T09:30:00Z"},
		{"US preservation extended once, not twice", Input{Process: cases.Preservation, Country: "US", ReceivedAt: at("2026-11-20T09:30:00Z"), Zone: utc,
			Events: []Event{{Action: "preservation.extend", At: at("2027-02-01T00:00:00Z")}, {Action: "preservation.extend", At: at("2027-05-01T00:00:00Z")}}},
			"preserve", "US-PRESERVATION-90D", "2027-05-19T09:30:00Z"},
		{"US preservation ending on a leap day", Input{Process: cases.Preservation, Country: "US", ReceivedAt: at("2027-12-01T12:00:00Z"), Zone: utc},
			"preserve", "US-PRESERVATION-90D", "2028-02-29T12:00:00Z"},
		// US calendar: Thanksgiving (26 Nov) is not a business day.
		{"US preservation target in business days", Input{Process: cases.Preservation, Country: "US", ReceivedAt: at("2026-11-24T09:30:00Z"), Zone: utc},
			"due", "TARGET-PRESERVATION", "2026-11-27T23:59:59Z"},
		// Pen register: 60 days from the effective date, and 60 more per
		// extension, without limit.
		{"pen register 60 days", Input{Process: cases.PenRegister, Country: "US", ReceivedAt: at("2026-11-20T09:30:00Z"), EffectiveAt: ptr(at("2026-11-20T00:00:00Z")), Zone: utc},
			"collection", "US-PEN-REGISTER-60D", "2027-01-19T00:00:00Z"},
		{"pen register extended twice", Input{Process: cases.PenRegister, Country: "US", ReceivedAt: at("2026-11-20T09:30:00Z"), EffectiveAt: ptr(at("2026-11-20T00:00:00Z")), Zone: utc,
			Events: []Event{{Action: "case.extend", At: at("2027-01-10T00:00:00Z")}, {Action: "case.extend", At: at("2027-03-10T00:00:00Z")}}},
			"collection", "US-PEN-REGISTER-60D", "2027-05-19T00:00:00Z"},
		// Platform targets.
		{"India 72 hours", Input{Process: cases.ForeignCourtOrder, Country: "IN", ReceivedAt: at("2026-11-20T09:30:00Z"), Zone: utc},
			"due", "TARGET-IN-72H", "2026-11-23T09:30:00Z"},
		{"emergency 4 hours", Input{Process: cases.Emergency, Country: "US", ReceivedAt: at("2026-11-20T09:30:00Z"), Zone: utc},
			"due", "TARGET-EMERGENCY", "2026-11-20T13:30:00Z"},
		// 10 business days from Friday 20 Nov in New York, skipping
		// Thanksgiving: the end of Monday 7 Dec, EST.
		{"default: 10 US business days", Input{Process: cases.Subpoena, Country: "US", ReceivedAt: at("2026-11-20T15:00:00Z"), Zone: ny},
			"due", "TARGET-DEFAULT", "2026-12-08T04:59:59Z"},
		{"default: 10 business days of the default calendar", Input{Process: cases.ForeignPoliceRequest, Country: "BR", ReceivedAt: at("2026-11-20T15:00:00Z"), Zone: utc},
			"due", "TARGET-DEFAULT", "2026-12-04T23:59:59Z"},
	}
	c := Default()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Find(c.Compute(tc.in), tc.clock)
			if tc.rule == "" {
				if d != nil {
					t.Fatalf("a %s clock where none applies: %+v", tc.clock, d)
				}
				return
			}
			if d == nil {
				t.Fatalf("no %s clock", tc.clock)
			}
			got := "paused"
			switch {
			case d.Blocked:
				got = "blocked"
			case d.OpenEnded:
				got = "open"
			case d.At != nil:
				got = d.At.UTC().Format(time.RFC3339)
			}
			if d.Rule != tc.rule || got != tc.want {
				t.Errorf("%s = %s by %s, want %s by %s\n%s", tc.clock, got, d.Rule, tc.want, tc.rule, d.Explain)
			}
			if !strings.HasPrefix(d.Explain, d.Rule+": ") || !strings.Contains(d.Explain, " from ") {
				t.Errorf("explanation %q does not name its rule and start", d.Explain)
			}
		})
	}
}

func TestExplainNamesPauses(t *testing.T) {
	d := Find(Default().Compute(Input{Process: cases.EUProductionOrder, Country: "FR", ReceivedAt: at("2026-11-20T09:30:00Z"), Zone: zone(t, "Europe/Berlin"),
		Events: []Event{{Action: "case.clarification_request", At: at("2026-11-22T09:30:00Z")}, {Action: "case.clarification_answer", At: at("2026-11-24T12:00:00Z")}}}), "due")
	want := "EU-EPOC-10D: 10 days from received_at 2026-11-20 10:30 CET; paused 2 days 2h30m by case.clarification_request at 2026-11-22 10:30 CET until 2026-11-24 13:00 CET; ends 2026-12-02 13:00 CET"
	if d.Explain != want || len(d.Pauses) != 1 || d.Start != "received_at" || !d.Legal {
		t.Errorf("explain\n got %s\nwant %s\n%+v", d.Explain, want, d)
	}
}

func TestTypedDueOnlyShortens(t *testing.T) {
	in := Input{Process: cases.EUProductionOrder, Country: "FR", ReceivedAt: at("2026-11-20T09:30:00Z")}
	later, earlier := at("2026-12-05T00:00:00Z"), at("2026-11-25T00:00:00Z")
	if _, err := TypedDue(Default().Compute(in), &later, "the agency asked"); cases.ErrorFields(err)["due_at"] == "" {
		t.Errorf("a later deadline than the law's was accepted: %v", err)
	}
	if _, err := TypedDue(Default().Compute(in), &earlier, ""); cases.ErrorFields(err)["due_reason"] == "" {
		t.Errorf("a shorter deadline without a reason was accepted: %v", err)
	}
	ds := Default().Compute(in)
	due, err := TypedDue(ds, &earlier, "the prosecutor asked for the 25th")
	if err != nil || !due.Equal(earlier) || Find(ds, "due").Shortened != "the prosecutor asked for the 25th" {
		t.Errorf("shortened: %v %v %+v", due, err, Find(ds, "due"))
	}
	// A platform target may be moved either way; no typed date: the computed one.
	sub := Input{Process: cases.Subpoena, Country: "US", ReceivedAt: at("2026-11-20T09:30:00Z")}
	if due, err := TypedDue(Default().Compute(sub), &later, ""); err != nil || !due.Equal(later) {
		t.Errorf("platform target: %v %v", due, err)
	}
	if due, err := TypedDue(Default().Compute(in), nil, ""); err != nil || !due.Equal(at("2026-11-30T09:30:00Z")) {
		t.Errorf("computed: %v %v", due, err)
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{"process_types: [eu_production_order]\n    when: [emergency]", "process_types: [eu_production_ordr]\n    when: [emergency]",
			`line 49: rules[0].process_types[0]: "eu_production_ordr" is not a process type`},
		{"period: 10d\n    legal: true\n  # Art. 8", "period: -10d\n    legal: true\n  # Art. 8", `line 58: rules[1].period: "-10d" is negative`},
		{"period: 8h", "period: 0h", `"0h" is zero`},
		{"period: 8h", "period: 8 hours", `"8 hours" is not a period`},
		{"clock: due\n    period: 8h", "clock: answer\n    period: 8h", `rules[0].clock: "answer" is not a clock`},
		{"when: [emergency]", "when: [urgent]", `rules[0].when[0]: "urgent" is not a condition`},
		{"    legal: true\n  # Art. 10: 10", "    legal: true\n    lega: true\n  # Art. 10: 10", `field lega is not a key of a rule`},
		{"  IN:\n", "  XX:\n", `calendars.XX: "XX" is not an ISO 3166-1`},
		{"2026-12-25, 2026-12-26", "2026-12-25, 2026-12-32", `"2026-12-32" is not a date`},
		{"  - id: EU-EPOC-10D", "  - id: EU-EPOC-EMERGENCY", "rules[1].id: EU-EPOC-EMERGENCY is already the ID of rules[0]"},
		{"    max_extensions: 1\n    legal: true\n  # 18", "    max_extensions: -1\n    legal: true\n  # 18", "max_extensions: must not be negative"},
	} {
		src := string(defaultYAML)
		if !strings.Contains(src, tc.old) {
			t.Fatalf("default.yaml has no %q", tc.old)
		}
		_, err := Load([]byte(strings.Replace(src, tc.old, tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.new, err, tc.want)
		}
	}
}

// Replay lists exactly the clocks a change moves, with old and new rule.
func TestReplay(t *testing.T) {
	changed, err := Load([]byte(strings.Replace(string(defaultYAML), "    clock: due\n    period: 10d\n", "    clock: due\n    period: 12d\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if changed.Version() == Default().Version() {
		t.Fatal("a changed period kept the version")
	}
	inputs := []Input{
		{Process: cases.EUProductionOrder, Country: "FR", ReceivedAt: at("2026-11-20T09:30:00Z")},
		{Process: cases.EUProductionOrder, Country: "FR", ReceivedAt: at("2026-11-20T09:30:00Z"), Emergency: true},
		{Process: cases.PenRegister, Country: "US", ReceivedAt: at("2026-11-20T09:30:00Z")},
	}
	moves := Replay(Default(), changed, []string{"LR-1", "LR-2", "LR-3"}, inputs)
	if len(moves) != 1 || moves[0].Case != "LR-1" || moves[0].Clock != "due" || !moves[0].Old.Equal(at("2026-11-30T09:30:00Z")) || !moves[0].New.Equal(at("2026-12-02T09:30:00Z")) {
		t.Errorf("moves = %+v", moves)
	}
	if again := Replay(Default(), Default(), []string{"LR-1", "LR-2", "LR-3"}, inputs); len(again) != 0 {
		t.Errorf("the same rules moved %+v", again)
	}
}

func TestInputOf(t *testing.T) {
	issued := at("2026-11-19T00:00:00Z")
	in := InputOf(&cases.Request{ReceivedAt: at("2026-11-20T09:30:00Z"), Agency: cases.Agency{Country: "FR"},
		Process:   cases.Process{Type: cases.EUProductionOrder, IssuedAt: &issued, EnforcingStateNotified: true},
		Emergency: &cases.Exigency{ImminentHarm: true}})
	if !in.Emergency || !in.EnforcingStateNotified || !in.EffectiveAt.Equal(issued) || in.Country != "FR" {
		t.Errorf("%+v", in)
	}
}
