package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// An agency's standing on the portal (issue 14): the legal team can
// suspend a whole agency, and an officer must confirm their email again
// every so often (re-verification).

// AgencySuspension is a standing suspension of an agency.
type AgencySuspension struct {
	AgencyID    int64     `json:"agency_id" db:"agency_id"`
	Reason      string    `json:"reason" db:"reason"`
	SuspendedBy string    `json:"suspended_by" db:"suspended_by"`
	At          time.Time `json:"at" db:"at"`
}

// SuspendAgency suspends (or, suspend false, reinstates) agency agencyID on
// the portal, as an admin, with a reason. While suspended none of its
// officers can sign in, and their sessions end at once; reinstating
// gives back what each officer had (an officer suspended on their own
// stays suspended).
func (db *DB) SuspendAgency(ctx context.Context, actor *cases.User, agencyID int64, suspend bool, reason string) (*AgencySuspension, error) {
	if actor == nil || actor.Disabled || actor.Role != cases.RoleAdmin {
		return nil, cases.Errorf(cases.EFORBIDDEN, "only an admin can suspend an agency")
	}
	if bad := reasonProblem(reason); bad != nil {
		return nil, cases.Invalid(bad)
	}
	if _, err := db.AgencyByID(ctx, agencyID); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	s := &AgencySuspension{AgencyID: agencyID, Reason: reason, SuspendedBy: actor.Email, At: db.Now()}
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM agency_suspensions WHERE agency_id = ?"), agencyID); err != nil {
			return err
		}
		id := strconv.FormatInt(agencyID, 10)
		if !suspend {
			if n == 0 {
				return cases.Errorf(cases.ECONFLICT, "agency %d is not suspended", agencyID)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM agency_suspensions WHERE agency_id = ?"), agencyID); err != nil {
				return err
			}
			return db.Audit(ctx, tx, actor.Email, "agency.reinstate", "agency", id, map[string]any{"suspended": true}, map[string]any{"suspended": false, "reason": reason})
		}
		if n > 0 {
			return cases.Errorf(cases.ECONFLICT, "agency %d is already suspended", agencyID)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO agency_suspensions (agency_id, reason, suspended_by, at) VALUES (?, ?, ?, ?)"),
			agencyID, reason, actor.Email, s.At); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM officer_sessions WHERE officer_id IN (SELECT id FROM officers WHERE agency_id = ?)"), agencyID); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor.Email, "agency.suspend", "agency", id, map[string]any{"suspended": false}, map[string]any{"suspended": true, "reason": reason})
	})
	if err != nil {
		return nil, err
	}
	if !suspend {
		return nil, nil
	}
	return s, nil
}

// AgencySuspended returns the agency's standing suspension, or nil.
func (db *DB) AgencySuspended(ctx context.Context, agencyID int64) (*AgencySuspension, error) {
	var s AgencySuspension
	err := db.r.GetContext(ctx, &s, db.r.Rebind("SELECT agency_id, reason, suspended_by, at FROM agency_suspensions WHERE agency_id = ?"), agencyID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	s.At = s.At.UTC()
	return &s, nil
}

// AgencySuspensions lists the standing suspensions, by agency ID.
func (db *DB) AgencySuspensions(ctx context.Context) (map[int64]*AgencySuspension, error) {
	var list []*AgencySuspension
	if err := db.r.SelectContext(ctx, &list, "SELECT agency_id, reason, suspended_by, at FROM agency_suspensions"); err != nil {
		return nil, err
	}
	out := map[int64]*AgencySuspension{}
	for _, s := range list {
		s.At = s.At.UTC()
		out[s.AgencyID] = s
	}
	return out, nil
}

// OfficerReverifyTTL is how long a re-verification link works.
const OfficerReverifyTTL = 24 * time.Hour

// NeedsReverify reports whether officer o's email was last confirmed more
// than every ago (every 0: never needed).
func NeedsReverify(o *Officer, every time.Duration, now time.Time) bool {
	return every > 0 && o.VerifiedAt != nil && now.Sub(*o.VerifiedAt) > every
}

// ReverifyToken makes a new re-verification link token for officer id, to
// be mailed to their address; earlier unused ones stop working.
func (db *DB) ReverifyToken(ctx context.Context, id int64) (string, error) {
	token := randomToken(32)
	now := db.Now()
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		o, err := db.officerByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE officer_tokens SET used_at = ? WHERE officer_id = ? AND purpose = 'reverify' AND used_at IS NULL"), now, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO officer_tokens (token_hash, officer_id, purpose, expires_at, created_at)
			VALUES (?, ?, 'reverify', ?, ?)`), hashToken(token), id, now.Add(OfficerReverifyTTL), now); err != nil {
			return err
		}
		return db.Audit(ctx, tx, o.Actor().Email, "officer.reverify.sent", "officer", strconv.FormatInt(id, 10), nil, map[string]any{"expires_at": now.Add(OfficerReverifyTTL)})
	})
	return token, err
}

// ReverifyOfficer spends a re-verification token: the officer's email is
// confirmed again as of now. A token works once and only until it
// expires; a suspended officer's is refused.
func (db *DB) ReverifyOfficer(ctx context.Context, token string) (*Officer, error) {
	now := db.Now()
	var o *Officer
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		id, err := spendToken(ctx, tx, token, "reverify", now, "this link is unknown, used or expired: sign in and ask for a new one")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE officers SET verified_at = ? WHERE id = ? AND NOT suspended"), now, id); err != nil {
			return err
		}
		if o, err = db.officerByID(ctx, tx, id); err != nil {
			return err
		}
		if o.Suspended {
			return cases.Errorf(cases.EFORBIDDEN, "this account is suspended")
		}
		return db.Audit(ctx, tx, o.Actor().Email, "officer.reverify", "officer", strconv.FormatInt(id, 10), nil, map[string]any{"verified_at": now})
	})
	return o, err
}

// spendToken marks an officer's emailed token of purpose used, once and
// before it expires, and returns whose it is; otherwise ENOTFOUND with
// gone as the message.
func spendToken(ctx context.Context, tx *sqlx.Tx, token, purpose string, now time.Time, gone string) (int64, error) {
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(`UPDATE officer_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? RETURNING officer_id`),
		now, hashToken(token), purpose, now)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, cases.Errorf(cases.ENOTFOUND, "%s", gone)
	}
	return id, err
}
