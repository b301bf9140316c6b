package main

import (
	"context"
	"slices"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// demoCasework gives the demo set the case work of issue 16: a case sent
// back for clarification, one withdrawn by its agency, assigned cases, a
// nondisclosure order lapsing soon and a notice recorded. The forged
// emergency (forged, its number) is left as it was logged, waiting for its
// callback.
func demoCasework(ctx context.Context, db *store.DB, users map[cases.Role]*cases.User, forged string, now time.Time) error {
	intake, reviewer := users[cases.RoleIntake], users[cases.RoleReviewer]
	received, err := db.ListSummaries(ctx, cases.CaseFilter{Status: cases.StatusReceived, Limit: 7}, "", false, "")
	if err != nil {
		return err
	}
	others := slices.DeleteFunc(received.Cases, func(s *cases.Summary) bool { return s.Number == forged })
	for i, s := range others[:min(len(others), 6)] {
		switch i {
		case 0:
			_, err = db.RequestClarification(ctx, reviewer, s.Number, "Please confirm the account identifier: the order names two spellings.")
		case 1:
			_, err = db.Withdraw(ctx, intake, s.Number, "The agency withdrew the request by letter.")
		default:
			err = db.Assign(ctx, intake, s.Number, intake.Email)
		}
		if err != nil {
			return err
		}
	}
	approved, err := db.ListSummaries(ctx, cases.CaseFilter{Status: cases.StatusApproved, Limit: 2}, "", false, "")
	if err != nil {
		return err
	}
	for i, s := range approved.Cases {
		if i == 0 {
			lapse := now.Add(5 * 24 * time.Hour)
			_, err = db.AddNDO(ctx, intake, s.Number, cases.NDO{Court: "U.S. District Court for the District of Columbia", Reference: "NDO 26-114", ExpiresAt: &lapse})
		} else {
			_, err = db.RecordNotice(ctx, intake, s.Number, cases.NoticeKindSent, "e-mail to the account's address", "")
		}
		if err != nil {
			return err
		}
	}
	return nil
}
