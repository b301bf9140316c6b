package cases

import "testing"

func TestCheckReview(t *testing.T) {
	intake := &User{Email: "ivy@example.org", Role: RoleIntake}
	reviewer := &User{Email: "rex@example.org", Role: RoleReviewer}
	supervisor := &User{Email: "sue@example.org", Role: RoleSupervisor}
	auditor := &User{Email: "al@example.org", Role: RoleAuditor}
	mk := func(p ProcessType, outcome Outcome, by string) *Case {
		c := &Case{Number: "LR-2026-000001", Status: StatusReceived, CreatedBy: by, Decision: &Decision{Outcome: outcome}}
		c.Process.Type = p
		return c
	}
	called := func(c *Case, by, outcome string) *Case {
		c.Verifications = append(c.Verifications, Verification{Method: VerifyCallback, Phone: "+12023243000", Outcome: outcome, RecordedBy: by})
		return c
	}
	doubt := func(c *Case, rule string) *Case {
		c.Decision.Findings = append(c.Decision.Findings, Finding{Rule: rule, Severity: SeverityReview})
		return c
	}
	tests := []struct {
		name    string
		actor   *User
		c       *Case
		verdict Status
		note    string
		want    string
	}{
		{"reviewer approves", reviewer, mk(Subpoena, OutcomeApprove, intake.Email), StatusApproved, "", ""},
		{"intake cannot", intake, mk(Subpoena, OutcomeApprove, "x@example.org"), StatusApproved, "", EFORBIDDEN},
		{"auditor cannot", auditor, mk(Subpoena, OutcomeApprove, intake.Email), StatusRejected, "", EFORBIDDEN},
		{"four eyes", reviewer, mk(Subpoena, OutcomeApprove, reviewer.Email), StatusApproved, "", EFORBIDDEN},
		{"four eyes, any case", reviewer, mk(Subpoena, OutcomeApprove, "REX@example.org"), StatusRejected, "", EFORBIDDEN},
		{"emergency needs supervisor", reviewer, mk(Emergency, OutcomeNeedsReview, intake.Email), StatusApproved, "ok", EFORBIDDEN},
		{"emergency needs a callback", supervisor, mk(Emergency, OutcomeNeedsReview, intake.Email), StatusApproved, "verified by phone", ECONFLICT},
		{"supervisor signs emergency", supervisor, called(mk(Emergency, OutcomeNeedsReview, intake.Email), reviewer.Email, VerifyConfirmed), StatusApproved, "verified by phone", ""},
		{"own callback does not count", supervisor, called(mk(Emergency, OutcomeNeedsReview, intake.Email), supervisor.Email, VerifyConfirmed), StatusApproved, "ok", ECONFLICT},
		{"a failed callback blocks", supervisor, called(called(mk(Emergency, OutcomeNeedsReview, intake.Email), reviewer.Email, VerifyFailed), intake.Email, VerifyConfirmed), StatusApproved, "ok", ECONFLICT},
		{"a failed callback allows rejecting", supervisor, called(mk(Emergency, OutcomeNeedsReview, intake.Email), reviewer.Email, VerifyFailed), StatusRejected, "forged", ""},
		{"identity finding needs a callback", reviewer, doubt(mk(Subpoena, OutcomeNeedsReview, intake.Email), RuleAgencyUnknown), StatusApproved, "ok", ECONFLICT},
		{"identity finding with a callback", reviewer, called(doubt(mk(Subpoena, OutcomeNeedsReview, intake.Email), RuleRequester), intake.Email, VerifyConfirmed), StatusApproved, "ok", ""},
		{"needs_review needs a note", supervisor, mk(Emergency, OutcomeNeedsReview, intake.Email), StatusApproved, "  ", EINVALID},
		{"reject decision cannot be approved", reviewer, mk(TitleIII, OutcomeReject, intake.Email), StatusApproved, "", ECONFLICT},
		{"reject decision can be rejected", reviewer, mk(TitleIII, OutcomeReject, intake.Email), StatusRejected, "", ""},
		{"not twice", reviewer, func() *Case { c := mk(Subpoena, OutcomeApprove, intake.Email); c.Status = StatusApproved; return c }(), StatusApproved, "", ECONFLICT},
		{"signed out", nil, mk(Subpoena, OutcomeApprove, intake.Email), StatusApproved, "", EUNAUTHORIZED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(CheckReview(tt.actor, tt.c, tt.verdict, tt.note, nil)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChainVerifier(t *testing.T) {
	var evs []*Event
	prev := GenesisHash
	for i := int64(1); i <= 3; i++ {
		e := &Event{Seq: i, Actor: "a", Action: "case.create", Entity: "case", EntityID: "1", After: []byte(`{"x":1}`), PrevHash: prev}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		evs = append(evs, e)
	}
	check := func(list []*Event, headSeq int64, headHash string) error {
		var v ChainVerifier
		for _, e := range list {
			if err := v.Next(e); err != nil {
				return err
			}
		}
		return v.End(headSeq, headHash)
	}
	if err := check(evs, 3, prev); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	if err := check([]*Event{evs[0], evs[2]}, 3, prev); err == nil {
		t.Error("deleted middle event not detected")
	}
	if err := check(evs[:2], 3, prev); err == nil {
		t.Error("deleted last event not detected")
	}
	edited := *evs[1]
	edited.Actor = "mallory"
	if err := check([]*Event{evs[0], &edited, evs[2]}, 3, prev); err == nil {
		t.Error("edited event not detected")
	}
}
