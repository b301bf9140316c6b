package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// The case work of a legal team (issue 16): reopening, the workload of each
// person, how a case ended, the reviewer's shaping of the decision, the
// round trip of a clarification and the agency's withdrawal. Every change
// is audited in its own transaction, with its reason.

// reasonProblem checks a required free-text reason.
func reasonProblem(reason string) map[string]string {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return map[string]string{"reason": "is required"}
	case len(reason) > 2000:
		return map[string]string{"reason": "is longer than 2000 characters"}
	case cases.TextProblem(reason) != "":
		return map[string]string{"reason": cases.TextProblem(reason)}
	}
	return nil
}

// changeCase runs change on the case ref inside one transaction, with the
// case as it was, and returns the case as it is after.
func (db *DB) changeCase(ctx context.Context, ref string, change func(tx *sqlx.Tx, before *cases.Case) error) (*cases.Case, error) {
	id, err := db.resolveCase(ctx, ref)
	if err != nil {
		return nil, err
	}
	var c *cases.Case
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		before, err := db.getCase(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := change(tx, before); err != nil {
			return err
		}
		c, err = db.getCase(ctx, tx, id)
		return err
	})
	return c, err
}

func (db *DB) auditCase(ctx context.Context, tx *sqlx.Tx, actor, action string, c *cases.Case, before, after any) error {
	return db.Audit(ctx, tx, actor, action, "case", strconv.FormatInt(c.ID, 10), before, after)
}

// ReopenCase reopens a closed or withdrawn case, as a supervisor, with a
// reason: it goes back to where its review left it (produced if something
// was produced). Collection windows the close stopped reopen while their
// authorised end is ahead (the reopen hooks, cases/metadata/reopen.go).
func (db *DB) ReopenCase(ctx context.Context, actor *cases.User, ref, reason string) (*cases.Case, error) {
	if actor == nil || actor.Role != cases.RoleSupervisor {
		return nil, cases.Errorf(cases.EFORBIDDEN, "only a supervisor may reopen a case")
	}
	if bad := reasonProblem(reason); bad != nil {
		return nil, cases.Invalid(bad)
	}
	return db.changeCase(ctx, ref, func(tx *sqlx.Tx, before *cases.Case) error {
		if before.Status != cases.StatusClosed && before.Status != cases.StatusWithdrawn {
			return cases.Errorf(cases.ECONFLICT, "case %s is %s; only a closed or withdrawn case can be reopened", before.Number, before.Status)
		}
		status, result := cases.StatusReceived, cases.Result("")
		switch {
		case before.Result == cases.ResultSomeData || before.Result == cases.ResultNoData:
			status, result = cases.StatusProduced, before.Result
		case before.Produced:
			status = cases.StatusProduced
		case before.Review != nil:
			status = before.Review.Verdict
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET status = ?, closed_at = NULL, result = ?, result_reason = '', updated_at = ? WHERE id = ?"),
			status, result, db.Now(), before.ID); err != nil {
			return err
		}
		for _, hook := range db.onReopen {
			if err := hook(ctx, tx, actor.Email, before); err != nil {
				return err
			}
		}
		return db.auditCase(ctx, tx, actor.Email, "case.reopen", before,
			map[string]any{"status": before.Status, "result": before.Result},
			map[string]any{"status": status, "result": result, "reason": strings.TrimSpace(reason)})
	})
}

// Workload is one person's open cases (received, approved or waiting for a
// clarification); the unassigned are listed with Assignee "".
type Workload struct {
	Assignee string `json:"assignee" db:"assignee"`
	Open     int    `json:"open" db:"open"`
	Overdue  int    `json:"overdue" db:"overdue"`
}

// Workloads counts the open cases of each assignee, the unassigned first.
func (db *DB) Workloads(ctx context.Context, now time.Time) ([]Workload, error) {
	var out []Workload
	err := db.r.SelectContext(ctx, &out, db.r.Rebind(`SELECT assignee, COUNT(*) AS open,
		SUM(CASE WHEN due_at < ? THEN 1 ELSE 0 END) AS overdue
		FROM cases WHERE status IN (?, ?, ?) GROUP BY assignee ORDER BY assignee`),
		now, cases.StatusReceived, cases.StatusApproved, cases.StatusNeedsClarification)
	return out, err
}

// EndCase ends an open case as refused or challenged, with a reason code
// from cases.RefusalReasons and a note: the case is closed, its result
// recorded for the report. Reviewers and supervisors decide it.
func (db *DB) EndCase(ctx context.Context, actor *cases.User, ref string, result cases.Result, reason, note string) (*cases.Case, error) {
	if actor == nil || (actor.Role != cases.RoleReviewer && actor.Role != cases.RoleSupervisor) {
		return nil, cases.Errorf(cases.EFORBIDDEN, "only a reviewer or a supervisor may refuse or challenge a request")
	}
	if err := cases.CheckResult(result, reason); err != nil {
		return nil, err
	}
	if msg := cases.TextProblem(note); msg != "" || len(note) > 2000 {
		return nil, cases.Invalid(map[string]string{"note": "must be text of at most 2000 characters"})
	}
	return db.changeCase(ctx, ref, func(tx *sqlx.Tx, before *cases.Case) error {
		if !before.Status.Open() {
			return cases.Errorf(cases.ECONFLICT, "case %s is %s; only an open case can be refused or challenged", before.Number, before.Status)
		}
		if err := db.SetStatus(ctx, tx, actor.Email, before, cases.StatusClosed); err != nil {
			return err
		}
		if err := db.setResult(ctx, tx, before.ID, result, reason); err != nil {
			return err
		}
		return db.auditCase(ctx, tx, actor.Email, "case.end", before, map[string]any{"status": before.Status},
			map[string]any{"status": cases.StatusClosed, "result": result, "reason": reason, "note": strings.TrimSpace(note)})
	})
}

func (db *DB) setResult(ctx context.Context, tx *sqlx.Tx, id int64, r cases.Result, reason string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET result = ?, result_reason = ? WHERE id = ?"), r, reason, id)
	return err
}

// RecordProduction records that a package of records records was produced
// for case c, in the production's transaction: the case becomes produced,
// its result some_data, or no_data when no package of it has had records;
// only data disclosed sets the produced flag the report counts.
func (db *DB) RecordProduction(ctx context.Context, tx *sqlx.Tx, actor string, c *cases.Case, records int64) error {
	if c.Status != cases.StatusProduced {
		if err := db.SetStatus(ctx, tx, actor, c, cases.StatusProduced); err != nil {
			return err
		}
	}
	var produced bool
	if err := tx.GetContext(ctx, &produced, tx.Rebind("SELECT result = 'some_data' FROM cases WHERE id = ?"), c.ID); err != nil {
		return err
	}
	result := cases.ResultNoData
	if produced || records > 0 {
		result = cases.ResultSomeData
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET produced = ?, result = ?, result_reason = '' WHERE id = ?"),
		result == cases.ResultSomeData, result, c.ID); err != nil {
		return err
	}
	if result == c.Result {
		return nil
	}
	return db.auditCase(ctx, tx, actor, "case.result", c, map[string]any{"result": c.Result}, map[string]any{"result": result})
}

// ShapeDecision records a reviewer's shaping of a case's decision (fewer
// categories, a shorter window, per-target decisions), with its reason.
// It can only narrow the policy's decision (cases.CheckShape), and only
// before the case is over.
func (db *DB) ShapeDecision(ctx context.Context, actor *cases.User, ref string, shape cases.Shape) (*cases.Case, error) {
	if actor == nil || (actor.Role != cases.RoleReviewer && actor.Role != cases.RoleSupervisor) {
		return nil, cases.Errorf(cases.EFORBIDDEN, "only a reviewer or a supervisor may shape a decision")
	}
	return db.changeCase(ctx, ref, func(tx *sqlx.Tx, before *cases.Case) error {
		if !before.Status.Open() && before.Status != cases.StatusProduced {
			return cases.Errorf(cases.ECONFLICT, "case %s is %s; its decision can no longer be shaped", before.Number, before.Status)
		}
		if err := cases.CheckShape(before, &shape); err != nil {
			return err
		}
		b, _ := json.Marshal(shape)
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET shape_json = ?, updated_at = ? WHERE id = ?"), string(b), db.Now(), before.ID); err != nil {
			return err
		}
		return db.auditCase(ctx, tx, actor.Email, "case.shape", before, before.Shape, shape)
	})
}

// DecideTarget records one target's produce / do-not-produce decision, with
// its reason, into the case's shape.
func (db *DB) DecideTarget(ctx context.Context, actor *cases.User, ref string, td cases.TargetDecision) (*cases.Case, error) {
	c, err := db.Case(ctx, ref)
	if err != nil {
		return nil, err
	}
	var shape cases.Shape
	if c.Shape != nil {
		shape = *c.Shape
		shape.Targets = append([]cases.TargetDecision(nil), c.Shape.Targets...)
	}
	shape.Reason = td.Reason
	if td.Produce && strings.TrimSpace(td.Reason) == "" {
		shape.Reason = "produce " + td.Value
	}
	replaced := false
	for i := range shape.Targets {
		if shape.Targets[i].Value == strings.TrimSpace(td.Value) {
			shape.Targets[i], replaced = td, true
		}
	}
	if !replaced {
		shape.Targets = append(shape.Targets, td)
	}
	return db.ShapeDecision(ctx, actor, strconv.FormatInt(c.ID, 10), shape)
}

// RequestClarification sends a received case back to the agency with a
// question: it waits in needs_clarification (the clock engine pauses on
// case.clarification_request) and cannot be approved meanwhile.
func (db *DB) RequestClarification(ctx context.Context, actor *cases.User, ref, question string) (*cases.Case, error) {
	return db.clarification(ctx, actor, ref, question, cases.StatusReceived, cases.StatusNeedsClarification, "case.clarification_request")
}

// AnswerClarification records the agency's answer and returns the case to
// received, for review with the answer in hand.
func (db *DB) AnswerClarification(ctx context.Context, actor *cases.User, ref, answer string) (*cases.Case, error) {
	return db.clarification(ctx, actor, ref, answer, cases.StatusNeedsClarification, cases.StatusReceived, "case.clarification_answer")
}

func (db *DB) clarification(ctx context.Context, actor *cases.User, ref, text string, from, to cases.Status, action string) (*cases.Case, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot work cases")
	}
	if bad := reasonProblem(text); bad != nil {
		return nil, cases.Invalid(map[string]string{"text": bad["reason"]})
	}
	return db.changeCase(ctx, ref, func(tx *sqlx.Tx, before *cases.Case) error {
		return db.clarifyTx(ctx, tx, actor.Email, before, strings.TrimSpace(text), from, to, action)
	})
}

// clarifyTx moves the case before from status from to status to in tx,
// recording action with text; the thread (thread.go) runs it with its
// message.
func (db *DB) clarifyTx(ctx context.Context, tx *sqlx.Tx, actor string, before *cases.Case, text string, from, to cases.Status, action string) error {
	if before.Status != from {
		return cases.Errorf(cases.ECONFLICT, "case %s is %s, not %s", before.Number, before.Status, from)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE cases SET status = ?, updated_at = ? WHERE id = ?"), to, db.Now(), before.ID); err != nil {
		return err
	}
	if err := db.auditCase(ctx, tx, actor, action, before, map[string]any{"status": from}, map[string]any{"status": to, "text": text}); err != nil {
		return err
	}
	// The clock stops while the agency is asked and runs on once it
	// answers: due_at moves with it, in this transaction.
	return db.recomputeDue(ctx, tx, actor, before.ID)
}

// Withdraw records the agency's withdrawal of a case: status withdrawn,
// collection windows ended (the close hooks run) and no more scheduled
// productions. What was already produced stays produced.
func (db *DB) Withdraw(ctx context.Context, actor *cases.User, ref, reason string) (*cases.Case, error) {
	if !actor.CanLog() {
		return nil, cases.Errorf(cases.EFORBIDDEN, "your role cannot work cases")
	}
	if bad := reasonProblem(reason); bad != nil {
		return nil, cases.Invalid(bad)
	}
	return db.changeCase(ctx, ref, func(tx *sqlx.Tx, before *cases.Case) error {
		if !before.Status.Open() && before.Status != cases.StatusProduced {
			return cases.Errorf(cases.ECONFLICT, "case %s is %s; only an open or produced case can be withdrawn", before.Number, before.Status)
		}
		if err := db.SetStatus(ctx, tx, actor.Email, before, cases.StatusWithdrawn); err != nil {
			return err
		}
		if before.Result == "" {
			if err := db.setResult(ctx, tx, before.ID, cases.ResultWithdrawn, ""); err != nil {
				return err
			}
		}
		return db.auditCase(ctx, tx, actor.Email, "case.withdraw", before, map[string]any{"status": before.Status},
			map[string]any{"status": cases.StatusWithdrawn, "reason": strings.TrimSpace(reason)})
	})
}
