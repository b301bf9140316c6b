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

// control is one account's hold over another, from the audit log.
type control struct {
	Actor  string `db:"actor"`
	Email  string `db:"email"`
	Action string `db:"action"`
}

// controlVerbs say what each user action handed its actor: creating an
// account or resetting its password hands over the one-time password; a
// change of role or access (re-enabling) is an account made to measure.
var controlVerbs = map[string]string{"user.create": "created", "user.update": "changed the role or access of", "user.password_reset": "reset the password of"}

// ties returns the accounts not independent of u (cases.Ties): those u
// controls and those that control u, transitively over every account
// creation, role or access change and password reset in the audit log. An
// account admin1 created, which created sup4, is admin1's too. The walk
// visits each account at most once, so it is bounded by the number of
// accounts.
func (db *DB) ties(ctx context.Context, q sqlx.QueryerContext, u *cases.User) (cases.Ties, error) {
	var rows []control
	if err := sqlx.SelectContext(ctx, q, &rows, db.r.Rebind(`SELECT LOWER(a.actor) AS actor, LOWER(u.email) AS email, a.action
		FROM audit_events a JOIN users u ON a.entity_id = CAST(u.id AS TEXT)
		WHERE a.entity = 'user' AND a.action IN ('user.create', 'user.update', 'user.password_reset')
		ORDER BY a.seq`)); err != nil {
		return nil, fmt.Errorf("account control: %w", err)
	}
	down, up := map[string][]control{}, map[string][]control{}
	seen := map[[2]string]bool{}
	for _, r := range rows {
		if r.Actor == r.Email || seen[[2]string{r.Actor, r.Email}] {
			continue // the first action says how; one's own account is no tie
		}
		seen[[2]string{r.Actor, r.Email}] = true
		down[r.Actor] = append(down[r.Actor], r)
		up[r.Email] = append(up[r.Email], r)
	}
	me := strings.ToLower(u.Email)
	ties := cases.Ties{}
	walk := func(next map[string][]control, far func(control) string, chain func(string, control) string) {
		how := map[string]string{me: ""}
		queue := []string{me}
		for len(queue) > 0 {
			at := queue[0]
			queue = queue[1:]
			for _, c := range next[at] {
				to := far(c)
				if _, ok := how[to]; ok {
					continue
				}
				how[to] = chain(how[at], c)
				ties[to] = how[to]
				queue = append(queue, to)
			}
		}
	}
	step := func(c control) string {
		return fmt.Sprintf("%s %s the account %s", c.Actor, controlVerbs[c.Action], c.Email)
	}
	// Down: u created a, a created b: "u created a, a created b".
	walk(down, func(c control) string { return c.Email }, func(before string, c control) string { return joinChain(before, step(c)) })
	// Up: b created a, a created u: "b created a, a created u".
	walk(up, func(c control) string { return c.Actor }, func(after string, c control) string { return joinChain(step(c), after) })
	delete(ties, me)
	return ties, nil
}

// joinChain joins two steps of a chain of control, either of which may be empty.
func joinChain(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + ", " + b
}

// checkFourEyes refuses a decision by an account tied to the case's logger
// (ties, the actor's): a second account is not a second person.
func checkFourEyes(actor *cases.User, c *cases.Case, ties cases.Ties) error {
	if actor == nil {
		return nil // CheckReview refuses it
	}
	if how := ties.Of(c.CreatedBy); how != "" {
		return cases.Errorf(cases.EFORBIDDEN, "four eyes: %s logged case %s and %s, so %s cannot decide it: the two accounts are not two people", c.CreatedBy, c.Number, how, actor.Email)
	}
	return nil
}

// Unverified is a case waiting for a decision that cannot be approved until
// a callback confirms who sent it, as the dashboard lists it.
type Unverified struct {
	*cases.Summary
	Emergency bool     // an emergency request
	Doubts    []string // its identity findings (cases.IdentityDoubts)
	Failed    bool     // a callback failed: it can only be rejected
}

// ListUnverified returns, newest first, at most limit open cases
// (cases.OpenStatuses: a forgery sent back for clarification is still one)
// that need a callback (emergencies, cases with identity findings) and have
// no confirmed one, or whose callback failed.
func (db *DB) ListUnverified(ctx context.Context, limit int) ([]*Unverified, error) {
	var rows []struct {
		listRow
		Failed bool `db:"failed"`
	}
	err := db.r.SelectContext(ctx, &rows, db.r.Rebind(`SELECT `+summaryColumns+`, decision_json,
		received_at AS sort_received, due_at AS sort_due,
		EXISTS (SELECT 1 FROM case_verifications v WHERE v.case_id = cases.id AND v.outcome = ?) AS failed
		FROM cases
		WHERE status IN (?, ?, ?) AND (process_type = ? OR decision_json LIKE ? OR decision_json LIKE ? OR decision_json LIKE ?)
		AND (NOT EXISTS (SELECT 1 FROM case_verifications v WHERE v.case_id = cases.id AND v.outcome = ?)
		     OR EXISTS (SELECT 1 FROM case_verifications v WHERE v.case_id = cases.id AND v.outcome = ?))
		ORDER BY id DESC LIMIT ?`),
		cases.VerifyFailed, cases.OpenStatuses[0], cases.OpenStatuses[1], cases.OpenStatuses[2], cases.Emergency,
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
