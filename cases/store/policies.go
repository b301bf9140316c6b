package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// ActivatePolicy records a policy (its canonical version and its source
// file) as the one in force from now on, audited with the version it
// replaces. The store does not parse policies: the caller has loaded and
// checked it already.
func (db *DB) ActivatePolicy(ctx context.Context, actor, version string, source []byte, previous string) error {
	return db.activateSource(ctx, "policies", "policy.activate", "policy", actor, version, source, previous)
}

// ActivePolicy returns the source of the policy activated last, or ok false
// if none ever was (the embedded default is then in force).
func (db *DB) ActivePolicy(ctx context.Context) (source []byte, ok bool, err error) {
	return db.lastSource(ctx, "policies")
}

// activateSource inserts a versioned rules file into table (policies,
// clock_rules) and audits it as action on entity, with the version it
// replaces, in one transaction.
func (db *DB) activateSource(ctx context.Context, table, action, entity, actor, version string, source []byte, previous string) error {
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO `+table+` (version, source, activated_by, activated_at)
			VALUES (?, ?, ?, ?) RETURNING id`), version, string(source), actor, db.Now()); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor, action, entity, strconv.FormatInt(id, 10),
			map[string]string{"version": previous}, map[string]string{"version": version})
	})
}

// lastSource returns the source activated last in table, ok false if none.
func (db *DB) lastSource(ctx context.Context, table string) (source []byte, ok bool, err error) {
	var s string
	err = db.r.GetContext(ctx, &s, "SELECT source FROM "+table+" ORDER BY id DESC LIMIT 1")
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	return []byte(s), true, nil
}

// Activations names a table of activated rules files: the policies, or
// the clock rules.
type Activations string

const (
	PolicyActivations Activations = "policies"
	ClockActivations  Activations = "clock_rules"
)

// LatestActivation returns the id and source of the newest activation in
// table, or id 0 if none ever was. Instances sharing a database poll the
// id to follow an activation made on another instance (see follow.go in
// cmd/envelope).
func (db *DB) LatestActivation(ctx context.Context, table Activations) (id int64, source []byte, err error) {
	var row struct {
		ID     int64  `db:"id"`
		Source string `db:"source"`
	}
	err = db.r.GetContext(ctx, &row, "SELECT id, source FROM "+string(table)+" ORDER BY id DESC LIMIT 1")
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	return row.ID, []byte(row.Source), err
}

// LatestActivationID is LatestActivation without the source: the cheap
// question a follower asks every few hundred milliseconds.
func (db *DB) LatestActivationID(ctx context.Context, table Activations) (int64, error) {
	var id int64
	err := db.r.GetContext(ctx, &id, "SELECT COALESCE(MAX(id), 0) FROM "+string(table))
	return id, err
}
