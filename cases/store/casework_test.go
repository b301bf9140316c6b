package store_test

import (
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// Assignment, the workload view, closing with a reason (twice is a
// conflict), and reopening by a supervisor only.
func TestAssignCloseReopen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		sup := user(t, db, "sue@example.org", cases.RoleSupervisor)
		user(t, db, "aud@example.org", cases.RoleAuditor)
		c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Assign(ctx, intake, c.Number, "aud@example.org"); cases.ErrorFields(err)["assignee"] == "" {
			t.Errorf("assign to an auditor: %v", err)
		}
		if err := db.Assign(ctx, intake, c.Number, "IVY@example.org "); err != nil {
			t.Fatal(err)
		}
		w, err := db.Workloads(ctx, time.Now())
		if err != nil || len(w) != 1 || w[0].Assignee != intake.Email || w[0].Open != 1 {
			t.Fatalf("workload %+v %v", w, err)
		}
		page, err := db.ListSummaries(ctx, cases.CaseFilter{Assignee: intake.Email}, "", false, "")
		if err != nil || len(page.Cases) != 1 {
			t.Fatalf("assignee filter: %+v %v", page, err)
		}
		if err := db.Assign(ctx, intake, c.Number, ""); err != nil {
			t.Fatal(err)
		}
		if w, _ := db.Workloads(ctx, time.Now()); len(w) != 1 || w[0].Assignee != "" {
			t.Errorf("unassigned workload %+v", w)
		}

		if _, err := db.CloseCase(ctx, intake, c.Number, "  "); cases.ErrorFields(err)["reason"] == "" {
			t.Errorf("close without a reason: %v", err)
		}
		closed, err := db.CloseCase(ctx, intake, c.Number, "request answered by letter")
		if err != nil || closed.Status != cases.StatusClosed || closed.ClosedAt == nil {
			t.Fatalf("close: %+v %v", closed, err)
		}
		if _, err := db.CloseCase(ctx, intake, c.Number, "again"); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("closing a closed case: %v, want a conflict", err)
		}
		if _, err := db.ReopenCase(ctx, intake, c.Number, "mistake"); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Errorf("intake reopening: %v", err)
		}
		re, err := db.ReopenCase(ctx, sup, c.Number, "closed by mistake")
		if err != nil || re.Status != cases.StatusReceived || re.ClosedAt != nil {
			t.Fatalf("reopen: %+v %v", re, err)
		}
		if _, err := db.ReopenCase(ctx, sup, c.Number, "again"); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("reopening an open case: %v", err)
		}
		evs, err := db.Events(ctx, "case", itoa(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if !hasAction(evs, "case.reopen") || !hasAction(evs, "case.assign") {
			t.Errorf("events lack the reopen or the assignment: %v", actions(evs))
		}
	})
}

// A clarification round trip: the case waits (and cannot be approved),
// then comes back to received; both steps are audited under the names the
// clock engine pauses on. A withdrawal ends the case with its result.
func TestClarificationAndWithdrawal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		rev := user(t, db, "rex@example.org", cases.RoleReviewer)
		c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AnswerClarification(ctx, intake, c.Number, "answer"); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("answer without a question: %v", err)
		}
		q, err := db.RequestClarification(ctx, rev, c.Number, "Which account is meant by 'the user'?")
		if err != nil || q.Status != cases.StatusNeedsClarification {
			t.Fatalf("clarification: %+v %v", q, err)
		}
		if _, err := db.Review(ctx, rev, c.Number, cases.StatusApproved, ""); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("approving a case waiting for clarification: %v", err)
		}
		a, err := db.AnswerClarification(ctx, intake, c.Number, "The account acc_9f8e7d6c only.")
		if err != nil || a.Status != cases.StatusReceived {
			t.Fatalf("answer: %+v %v", a, err)
		}
		wd, err := db.Withdraw(ctx, intake, c.Number, "agency letter of 2026-11-21")
		if err != nil || wd.Status != cases.StatusWithdrawn || wd.Result != cases.ResultWithdrawn || wd.ClosedAt == nil {
			t.Fatalf("withdraw: %+v %v", wd, err)
		}
		if _, err := db.Withdraw(ctx, intake, c.Number, "again"); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("withdrawing twice: %v", err)
		}
		evs, _ := db.Events(ctx, "case", itoa(c.ID))
		for _, want := range []string{"case.clarification_request", "case.clarification_answer", "case.withdraw"} {
			if !hasAction(evs, want) {
				t.Errorf("no %s event in %v", want, actions(evs))
			}
		}
	})
}

// Refused and challenged end a case with a reason code; anything else is
// refused, and nothing is written.
func TestEndCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		rev := user(t, db, "rex@example.org", cases.RoleReviewer)
		c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []struct{ result, reason, field string }{
			{"some_data", "overbroad", "result"}, {"refused", "because", "reason"},
		} {
			if _, err := db.EndCase(ctx, rev, c.Number, cases.Result(bad.result), bad.reason, ""); cases.ErrorFields(err)[bad.field] == "" {
				t.Errorf("end %s/%s: %v", bad.result, bad.reason, err)
			}
		}
		if _, err := db.EndCase(ctx, intake, c.Number, cases.ResultRefused, "overbroad", ""); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Errorf("intake refusing: %v", err)
		}
		if got, _ := db.Case(ctx, c.Number); got.Status != cases.StatusReceived || got.Result != "" {
			t.Fatalf("a refused change wrote: %+v", got)
		}
		e, err := db.EndCase(ctx, rev, c.Number, cases.ResultChallenged, "defective_process", "motion to quash filed")
		if err != nil || e.Status != cases.StatusClosed || e.Result != cases.ResultChallenged || e.ResultReason != "defective_process" {
			t.Fatalf("challenge: %+v %v", e, err)
		}
	})
}

func hasAction(evs []*cases.Event, action string) bool {
	for _, e := range evs {
		if e.Action == action {
			return true
		}
	}
	return false
}

func actions(evs []*cases.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

// A new process document supersedes the old one, which is kept with its
// hash; other documents are added by kind; nothing is replaced.
func TestDocumentsSuperseded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		intake := user(t, db, "ivy@example.org", cases.RoleIntake)
		c, err := db.CreateCase(ctx, intake.Email, store.NewCase{Request: request(t, "subpoena.json"), Decision: decision(cases.OutcomeApprove)})
		if err != nil {
			t.Fatal(err)
		}
		first, err := db.AttachDocument(ctx, intake, c.Number, "order.pdf", []byte("%PDF-1.4 first"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AttachDocument(ctx, intake, c.Number, "order-v2.pdf", []byte("%PDF-1.4 second")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddAttachment(ctx, intake, c.Number, "amendment", "amend.pdf", []byte("%PDF-1.4 amendment")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddAttachment(ctx, intake, c.Number, "memo", "x.pdf", []byte("%PDF-1.4")); cases.ErrorFields(err)["kind"] == "" {
			t.Errorf("an unknown kind: %v", err)
		}
		list, err := db.Attachments(ctx, c.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("attachments %+v %v", list, err)
		}
		if list[0].Kind != "process" || list[0].SHA256 != first.SHA256 || list[0].SupersededAt == nil || list[0].SupersededBy != intake.Email {
			t.Errorf("superseded document: %+v", list[0])
		}
		if _, content, err := db.AttachmentContent(ctx, c.Number, list[0].ID); err != nil || string(content) != "%PDF-1.4 first" {
			t.Errorf("superseded content %q %v", content, err)
		}
		if list[1].Kind != "amendment" || list[1].SupersededAt != nil {
			t.Errorf("amendment: %+v", list[1])
		}
	})
}
