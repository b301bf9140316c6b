package retention

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
)

// Hold is a legal hold on a case: while it stands (ReleasedAt is nil),
// nothing of the case is purged, by retention or by the expiry of a
// preservation.
type Hold struct {
	ID            int64      `json:"id" db:"id"`
	CaseID        int64      `json:"case_id" db:"case_id"`
	Case          string     `json:"case" db:"number"`
	Reason        string     `json:"reason" db:"reason"`
	PlacedBy      string     `json:"placed_by" db:"placed_by"`
	PlacedAt      time.Time  `json:"placed_at" db:"placed_at"`
	ReleaseReason string     `json:"release_reason,omitempty" db:"release_reason"`
	ReleasedBy    string     `json:"released_by,omitempty" db:"released_by"`
	ReleasedAt    *time.Time `json:"released_at,omitempty" db:"released_at"`
}

func (h *Hold) utc() {
	h.PlacedAt = h.PlacedAt.UTC()
	if h.ReleasedAt != nil {
		t := h.ReleasedAt.UTC()
		h.ReleasedAt = &t
	}
}

const holdColumns = "h.id, h.case_id, c.number, h.reason, h.placed_by, h.placed_at, h.release_reason, h.released_by, h.released_at"

// MaxReasonLength bounds the reason given for placing or releasing a hold.
const MaxReasonLength = 2000

// CanHold reports whether u may place and release legal holds: reviewers,
// supervisors and admins, the people who answer for what is kept.
func CanHold(u *cases.User) bool {
	return u != nil && !u.Disabled &&
		(u.Role == cases.RoleReviewer || u.Role == cases.RoleSupervisor || u.Role == cases.RoleAdmin)
}

// holdTx is the transaction of a hold change, run after its checks.
type holdTx func(ctx context.Context, db *store.DB, tx *sqlx.Tx, actor string, c *cases.Case, reason string) (*Hold, error)

// changeHold checks the actor's role and the reason (naming the field),
// finds the case ref (its ID or number), and runs change in a transaction.
func changeHold(ctx context.Context, db *store.DB, actor *cases.User, ref, reason string, change holdTx) (*Hold, error) {
	if !CanHold(actor) {
		role := "no"
		if actor != nil {
			role = "the " + string(actor.Role)
		}
		return nil, cases.Errorf(cases.EFORBIDDEN, "%s role may not place or release legal holds", role)
	}
	reason = strings.TrimSpace(reason)
	if msg := reasonProblem(reason); msg != "" {
		return nil, cases.Invalid(map[string]string{"reason": msg})
	}
	c, err := db.Case(ctx, ref)
	if err != nil {
		return nil, err
	}
	var h *Hold
	err = db.Tx(ctx, func(tx *sqlx.Tx) (err error) {
		h, err = change(ctx, db, tx, actor.Email, c, reason)
		return err
	})
	return h, err
}

// reasonProblem says why a (trimmed) reason cannot be recorded, or "" if
// it can. A NUL or bad UTF-8 is an input error, not a failed write on
// PostgreSQL.
func reasonProblem(reason string) string {
	switch {
	case reason == "":
		return "is required"
	case len(reason) > MaxReasonLength:
		return fmt.Sprintf("is longer than %d characters", MaxReasonLength)
	}
	return cases.TextProblem(reason)
}

// PlaceHold puts the case ref (its ID or number) under a legal hold, with
// a reason, audited as hold.place. A case has at most one active hold.
func PlaceHold(ctx context.Context, db *store.DB, actor *cases.User, ref, reason string) (*Hold, error) {
	return changeHold(ctx, db, actor, ref, reason, placeHold)
}

// ReleaseHold lifts the active legal hold of the case ref, with a reason,
// audited as hold.release. The next purge may then delete what retention
// lets go.
func ReleaseHold(ctx context.Context, db *store.DB, actor *cases.User, ref, reason string) (*Hold, error) {
	return changeHold(ctx, db, actor, ref, reason, releaseHold)
}

// placeHold is PlaceHold's transaction, after the checks. It takes the
// case lock first so that of two placings at once the second waits, then
// finds the first hold: a conflict, not a failed write on the
// one-active-hold index. (Against a purge of the case the insert would
// do: a row referencing the case takes a KEY SHARE lock on it, which
// conflicts with the purge's lock either way round.)
func placeHold(ctx context.Context, db *store.DB, tx *sqlx.Tx, actor string, c *cases.Case, reason string) (*Hold, error) {
	if err := db.LockCase(ctx, tx, c.ID); err != nil {
		return nil, err
	}
	if old, err := activeHold(ctx, tx, c.ID); err != nil {
		return nil, err
	} else if old != nil {
		return nil, cases.Errorf(cases.ECONFLICT, "case %s is already under a legal hold, placed by %s on %s",
			c.Number, old.PlacedBy, old.PlacedAt.Format(time.DateOnly))
	}
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO legal_holds (case_id, reason, placed_by, placed_at)
		VALUES (?, ?, ?, ?) RETURNING id`), c.ID, reason, actor, db.Now()); err != nil {
		return nil, fmt.Errorf("place legal hold: %w", err)
	}
	if err := db.Audit(ctx, tx, actor, "hold.place", "case", strconv.FormatInt(c.ID, 10), nil,
		map[string]any{"hold": id, "reason": reason}); err != nil {
		return nil, err
	}
	return holdByID(ctx, tx, id)
}

// releaseHold is ReleaseHold's transaction, after the checks. The case
// lock makes a second release of the same hold wait and then find none.
func releaseHold(ctx context.Context, db *store.DB, tx *sqlx.Tx, actor string, c *cases.Case, reason string) (*Hold, error) {
	if err := db.LockCase(ctx, tx, c.ID); err != nil {
		return nil, err
	}
	old, err := activeHold(ctx, tx, c.ID)
	if err != nil {
		return nil, err
	} else if old == nil {
		return nil, cases.Errorf(cases.ECONFLICT, "case %s is not under a legal hold", c.Number)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE legal_holds SET release_reason = ?, released_by = ?, released_at = ?
		WHERE id = ?`), reason, actor, db.Now(), old.ID); err != nil {
		return nil, fmt.Errorf("release legal hold: %w", err)
	}
	if err := db.Audit(ctx, tx, actor, "hold.release", "case", strconv.FormatInt(c.ID, 10),
		map[string]any{"hold": old.ID, "reason": old.Reason, "placed_by": old.PlacedBy},
		map[string]any{"hold": old.ID, "reason": reason}); err != nil {
		return nil, err
	}
	return holdByID(ctx, tx, old.ID)
}

// Holds lists the active legal holds, newest first; with all, the released
// ones too.
func Holds(ctx context.Context, db *store.DB, all bool) ([]*Hold, error) {
	where := " WHERE h.released_at IS NULL"
	if all {
		where = ""
	}
	out := []*Hold{}
	r := db.Reader()
	if err := r.SelectContext(ctx, &out, "SELECT "+holdColumns+
		" FROM legal_holds h JOIN cases c ON c.id = h.case_id"+where+" ORDER BY h.id DESC"); err != nil {
		return nil, fmt.Errorf("list legal holds: %w", err)
	}
	for _, h := range out {
		h.utc()
	}
	return out, nil
}

// activeHold returns the hold standing on a case, or nil.
func activeHold(ctx context.Context, q queryer, caseID int64) (*Hold, error) {
	return getHold(ctx, q, "h.case_id = ? AND h.released_at IS NULL", caseID)
}

func holdByID(ctx context.Context, q queryer, id int64) (*Hold, error) {
	return getHold(ctx, q, "h.id = ?", id)
}

func getHold(ctx context.Context, q queryer, where string, arg int64) (*Hold, error) {
	var h Hold
	err := sqlx.GetContext(ctx, q, &h, q.Rebind("SELECT "+holdColumns+
		" FROM legal_holds h JOIN cases c ON c.id = h.case_id WHERE "+where), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read legal hold: %w", err)
	}
	h.utc()
	return &h, nil
}

// queryer is a pool or a transaction.
type queryer interface {
	sqlx.QueryerContext
	Rebind(string) string
}

// ActiveHold returns the legal hold standing on a case, or nil.
func ActiveHold(ctx context.Context, db *store.DB, caseID int64) (*Hold, error) {
	return activeHold(ctx, db.Reader(), caseID)
}
