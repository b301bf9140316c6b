package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// MaxVerificationNote bounds a verification's note.
const MaxVerificationNote = 4000

// RecordVerification records an out-of-band check of a case's requester,
// audited as case.verify in the same transaction. The phone must be the
// directory's callback number for the case's agency (for a look-alike, the
// number of the entry it resembles): a number taken from the request, which
// a forger wrote, proves nothing.
func (db *DB) RecordVerification(ctx context.Context, actor *cases.User, ref string, v cases.Verification) (*cases.Verification, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot record verifications")
	}
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	// The number as typed off a screen ("+44 20 7230 1212") is the same
	// number as the directory's E.164.
	v.Method, v.Phone, v.Outcome, v.Note = strings.TrimSpace(v.Method), cases.CanonicalPhone(v.Phone), strings.TrimSpace(v.Outcome), strings.TrimSpace(v.Note)
	if v.Method == "" {
		v.Method = cases.VerifyCallback
	}
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		c, err := db.getCase(ctx, tx, id)
		if err != nil {
			return err
		}
		m, err := db.resolveAgency(ctx, tx, c.Agency)
		if err != nil {
			return err
		}
		if err := checkVerification(v, m); err != nil {
			return err
		}
		v.RecordedBy, v.RecordedAt = actor.Email, db.Now()
		if err := tx.GetContext(ctx, &v.ID, tx.Rebind(`INSERT INTO case_verifications (case_id, method, phone, outcome, note, recorded_by, recorded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), id, v.Method, v.Phone, v.Outcome, v.Note, v.RecordedBy, v.RecordedAt); err != nil {
			return fmt.Errorf("insert verification: %w", err)
		}
		return db.Audit(ctx, tx, actor.Email, "case.verify", "case", strconv.FormatInt(id, 10), nil, v)
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// checkVerification validates a verification against the directory's
// match of the case's agency; errors name the fields method, phone,
// outcome and note.
func checkVerification(v cases.Verification, m *cases.AgencyMatch) error {
	f := map[string]string{}
	if v.Method != cases.VerifyCallback {
		f["method"] = fmt.Sprintf("%q is not a method (callback)", v.Method)
	}
	switch {
	case m.Phone == "":
		f["phone"] = "the agency is not in the directory, so there is no number to call back: an admin adds it (with its number, found independently) first"
	case v.Phone == "":
		f["phone"] = "is required: the directory's number for " + m.Name + ", " + m.Phone
	case v.Phone != m.Phone:
		f["phone"] = fmt.Sprintf("%s is not the directory's number for %s (%s): call back on the directory's number, never one from the request", v.Phone, m.Name, m.Phone)
	}
	if v.Outcome != cases.VerifyConfirmed && v.Outcome != cases.VerifyFailed {
		f["outcome"] = fmt.Sprintf("%q is not an outcome (confirmed or failed)", v.Outcome)
	}
	if len(v.Note) > MaxVerificationNote {
		f["note"] = fmt.Sprintf("is longer than %d characters", MaxVerificationNote)
	} else if msg := cases.TextProblem(v.Note); msg != "" {
		f["note"] = msg
	}
	if len(f) > 0 {
		return cases.Invalid(f)
	}
	return nil
}

// verifications returns the verifications recorded on a case, oldest first.
func (db *DB) verifications(ctx context.Context, q sqlx.QueryerContext, caseID int64) ([]cases.Verification, error) {
	var vs []cases.Verification
	if err := sqlx.SelectContext(ctx, q, &vs, db.r.Rebind(`SELECT id, method, phone, outcome, note, recorded_by, recorded_at
		FROM case_verifications WHERE case_id = ? ORDER BY id`), caseID); err != nil {
		return nil, err
	}
	for i := range vs {
		vs[i].RecordedAt = vs[i].RecordedAt.UTC()
	}
	return vs, nil
}

// controlledBy reports how the logger of a case shaped the approver's
// account, or "": created it, changed its role or re-enabled it, or reset
// its password (which hands the logger the one-time password). An approver
// the logger made is the logger's second pair of hands, not a second
// person (four eyes).
func (db *DB) controlledBy(ctx context.Context, q sqlx.QueryerContext, logger string, approver *cases.User) (string, error) {
	var actions []string
	if err := sqlx.SelectContext(ctx, q, &actions, db.r.Rebind(`SELECT action FROM audit_events
		WHERE entity = 'user' AND entity_id = ? AND LOWER(actor) = LOWER(?) AND action IN ('user.create', 'user.update', 'user.password_reset')
		ORDER BY seq`), strconv.FormatInt(approver.ID, 10), logger); err != nil {
		return "", err
	}
	if len(actions) == 0 {
		return "", nil
	}
	what := map[string]string{"user.create": "created", "user.update": "changed the role or access of", "user.password_reset": "reset the password of"}[actions[0]]
	return fmt.Sprintf("%s %s the account %s", logger, what, approver.Email), nil
}

// checkFourEyes refuses a decision by an account the case's logger
// controls (controlledBy): a second account is not a second person.
func (db *DB) checkFourEyes(ctx context.Context, tx *sqlx.Tx, actor *cases.User, c *cases.Case) error {
	if actor == nil {
		return nil // CheckReview refuses it
	}
	how, err := db.controlledBy(ctx, tx, c.CreatedBy, actor)
	if err != nil || how == "" {
		return err
	}
	return cases.Errorf(cases.EFORBIDDEN, "four eyes: %s logged case %s and %s, so that account cannot decide it", c.CreatedBy, c.Number, strings.TrimPrefix(how, c.CreatedBy+" "))
}

// Unverified is a case waiting for a decision that cannot be approved until
// a callback confirms who sent it, as the dashboard lists it.
type Unverified struct {
	*cases.Summary
	Emergency bool     // an emergency request
	Doubts    []string // its identity findings (cases.IdentityDoubts)
	Failed    bool     // a callback failed: it can only be rejected
}

// ListUnverified returns, newest first, at most limit received cases that
// need a callback (emergencies, cases with identity findings) and have no
// confirmed one, or whose callback failed.
func (db *DB) ListUnverified(ctx context.Context, limit int) ([]*Unverified, error) {
	var rows []struct {
		listRow
		Failed bool `db:"failed"`
	}
	err := db.r.SelectContext(ctx, &rows, db.r.Rebind(`SELECT `+summaryColumns+`, decision_json,
		received_at AS sort_received, due_at AS sort_due,
		EXISTS (SELECT 1 FROM case_verifications v WHERE v.case_id = cases.id AND v.outcome = ?) AS failed
		FROM cases
		WHERE status = ? AND (process_type = ? OR decision_json LIKE ? OR decision_json LIKE ? OR decision_json LIKE ?)
		AND (NOT EXISTS (SELECT 1 FROM case_verifications v WHERE v.case_id = cases.id AND v.outcome = ?)
		     OR EXISTS (SELECT 1 FROM case_verifications v WHERE v.case_id = cases.id AND v.outcome = ?))
		ORDER BY id DESC LIMIT ?`),
		cases.VerifyFailed, cases.StatusReceived, cases.Emergency,
		`%"rule":"`+cases.RuleAgencyUnknown+`"%`, `%"rule":"`+cases.RuleAgencyLookalike+`"%`, `%"rule":"`+cases.RuleRequester+`"%`,
		cases.VerifyConfirmed, cases.VerifyFailed, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*Unverified, len(rows))
	for i, r := range rows {
		u := &Unverified{Summary: r.summary(), Emergency: r.Process == string(cases.Emergency), Failed: r.Failed}
		if r.DecisionJSON.Valid {
			var d cases.Decision
			if err := json.Unmarshal([]byte(r.DecisionJSON.String), &d); err != nil {
				return nil, fmt.Errorf("case %d: stored decision: %w", r.ID, err)
			}
			u.Doubts = cases.IdentityDoubts(&cases.Case{Decision: &d})
		}
		out[i] = u
	}
	return out, nil
}
