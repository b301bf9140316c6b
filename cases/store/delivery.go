package store

import (
	"context"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// Telling the agency that a package of a case it submitted is ready, and
// finding packages it has not downloaded (issue 14).

// UnannouncedPackages lists up to limit packages of agency cases whose
// agency was not told yet, oldest first.
func (db *DB) UnannouncedPackages(ctx context.Context, limit int) ([]int64, error) {
	var ids []int64
	err := db.r.SelectContext(ctx, &ids, db.r.Rebind(`SELECT p.id FROM packages p JOIN agency_submissions s ON s.case_id = p.case_id
		WHERE NOT EXISTS (SELECT 1 FROM package_notices n WHERE n.package_id = p.id) ORDER BY p.id LIMIT ?`), limit)
	return ids, err
}

// AnnounceHook queues, in tx, the mail telling to that the package of case
// caseID is ready.
type AnnounceHook func(tx *sqlx.Tx, caseID int64, to []string) error

// AnnouncePackage records that the agency is told of package packageID,
// and runs then in the same transaction to queue the mail, with the
// case's officers (AgencyRecipients). It returns false when the package
// was announced already (by another instance, say): the row is the lock,
// so no package is announced twice.
func (db *DB) AnnouncePackage(ctx context.Context, packageID int64, then AnnounceHook) (bool, error) {
	done := false
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		var caseID int64
		if err := tx.GetContext(ctx, &caseID, tx.Rebind("SELECT case_id FROM packages WHERE id = ?"), packageID); err != nil {
			return err
		}
		to, err := db.AgencyRecipients(ctx, tx, caseID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO package_notices (package_id, case_id, recipients, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (package_id) DO NOTHING`), packageID, caseID, len(to), db.Now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		done = true
		if len(to) > 0 && then != nil {
			if err := then(tx, caseID, to); err != nil {
				return err
			}
		}
		return db.Audit(ctx, tx, "system:delivery", "package.announce", "case", strconv.FormatInt(caseID, 10), nil,
			map[string]any{"package_id": packageID, "to": to})
	})
	return done, err
}

// Undelivered is a package of an agency case that no officer downloaded.
type Undelivered struct {
	CaseID    int64     `db:"case_id"`
	Number    string    `db:"number"`
	PackageID int64     `db:"package_id"`
	FileName  string    `db:"file_name"`
	CreatedAt time.Time `db:"created_at"`
}

// UndownloadedPackages lists up to limit packages of agency cases produced
// before before and never downloaded, oldest first: the dashboard flags
// them.
func (db *DB) UndownloadedPackages(ctx context.Context, before time.Time, limit int) ([]Undelivered, error) {
	var out []Undelivered
	err := db.r.SelectContext(ctx, &out, db.r.Rebind(`SELECT p.case_id, c.number, p.id AS package_id, p.file_name, p.created_at
		FROM packages p JOIN agency_submissions s ON s.case_id = p.case_id JOIN cases c ON c.id = p.case_id
		WHERE p.created_at < ? AND c.status <> 'withdrawn'
		AND NOT EXISTS (SELECT 1 FROM package_downloads d WHERE d.package_id = p.id)
		ORDER BY p.created_at, p.id LIMIT ?`), before, limit)
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, err
}
