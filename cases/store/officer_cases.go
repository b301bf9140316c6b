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

// The agency portal's cases: what an officer submitted (source agency),
// and the delivery of packages to them with a record of each download and
// of the receipt.

// SubmitAgencyCase stores a case an officer submitted, with its legal
// process document, in one transaction: the case, its source row and the
// document land together or not at all.
func (db *DB) SubmitAgencyCase(ctx context.Context, o *Officer, nc NewCase, filename string, document []byte) (*cases.Case, error) {
	actor := o.Actor()
	var c *cases.Case
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if c, err = db.createCase(ctx, tx, actor.Email, nc); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO agency_submissions (case_id, officer_id, agency_id, created_at)
			VALUES (?, ?, ?, ?)`), c.ID, o.ID, o.AgencyID, db.Now()); err != nil {
			return err
		}
		return db.Audit(ctx, tx, actor.Email, "case.source", "case", strconv.FormatInt(c.ID, 10), nil,
			map[string]any{"source": "agency", "officer_id": o.ID, "agency_id": o.AgencyID})
	})
	if err != nil {
		return nil, err
	}
	if document != nil {
		// AttachDocument has its own transaction and checks; a failure here
		// leaves the case without its PDF, which the portal says.
		if _, err := db.AttachDocument(ctx, actor, strconv.FormatInt(c.ID, 10), filename, document); err != nil {
			return c, err
		}
	}
	return db.getCase(ctx, db.r, c.ID)
}

// officerSees is the condition under which officer ? (twice) of agency ?
// sees the case of a submission row s: they submitted it, or the
// submitter let them follow it, and either way it was submitted for the
// agency the officer belongs to now.
const officerSees = `s.agency_id = ? AND (s.officer_id = ? OR EXISTS
	(SELECT 1 FROM case_followers f WHERE f.case_id = s.case_id AND f.officer_id = ?))`

// OfficerCase returns case id if the officer may see it (officerSees);
// otherwise ENOTFOUND, the same as a case that does not exist, so ids
// reveal nothing.
func (db *DB) OfficerCase(ctx context.Context, o *Officer, id int64) (*cases.Case, error) {
	var n int
	if err := db.r.GetContext(ctx, &n, db.r.Rebind(`SELECT COUNT(*) FROM agency_submissions s WHERE s.case_id = ? AND `+officerSees),
		id, o.AgencyID, o.ID, o.ID); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, cases.Errorf(cases.ENOTFOUND, "no case %d", id)
	}
	return db.getCase(ctx, db.r, id)
}

// OfficerCases lists the cases the officer may see, newest first.
func (db *DB) OfficerCases(ctx context.Context, o *Officer) ([]*cases.Case, error) {
	var ids []int64
	if err := db.r.SelectContext(ctx, &ids, db.r.Rebind(`SELECT s.case_id FROM agency_submissions s WHERE `+officerSees+` ORDER BY s.case_id DESC LIMIT 500`),
		o.AgencyID, o.ID, o.ID); err != nil {
		return nil, err
	}
	out := make([]*cases.Case, 0, len(ids))
	for _, id := range ids {
		c, err := db.getCase(ctx, db.r, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// MaxFollowers is how many colleagues may follow one case.
const MaxFollowers = 5

// AddFollower lets a colleague follow a case: only its submitter may, and
// only an active officer of the same agency can be added. Any other email
// gets the same answer, so the form tells nothing about who has an account
// elsewhere.
func (db *DB) AddFollower(ctx context.Context, o *Officer, caseID int64, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var submitter int64
		err := tx.GetContext(ctx, &submitter, tx.Rebind("SELECT officer_id FROM agency_submissions WHERE case_id = ? AND agency_id = ?"), caseID, o.AgencyID)
		if errors.Is(err, sql.ErrNoRows) {
			return cases.Errorf(cases.ENOTFOUND, "no case %d", caseID)
		} else if err != nil {
			return err
		}
		if submitter != o.ID {
			return cases.Errorf(cases.EFORBIDDEN, "only the officer who submitted the request can add colleagues")
		}
		var colleague int64
		err = tx.GetContext(ctx, &colleague, tx.Rebind(`SELECT id FROM officers WHERE email = ? AND agency_id = ? AND verified_at IS NOT NULL AND NOT suspended`),
			email, o.AgencyID)
		if errors.Is(err, sql.ErrNoRows) || colleague == o.ID {
			return cases.Invalid(map[string]string{"email": "is not an active officer of your agency on this portal"})
		} else if err != nil {
			return err
		}
		var n, dup int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM case_followers WHERE case_id = ?"), caseID); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &dup, tx.Rebind("SELECT COUNT(*) FROM case_followers WHERE case_id = ? AND officer_id = ?"), caseID, colleague); err != nil {
			return err
		}
		if dup > 0 {
			return nil
		}
		if n >= MaxFollowers {
			return cases.Errorf(cases.ECONFLICT, "a request can have at most %d colleagues following it", MaxFollowers)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO case_followers (case_id, officer_id, added_by, created_at) VALUES (?, ?, ?, ?)"),
			caseID, colleague, o.ID, db.Now()); err != nil {
			return err
		}
		return db.Audit(ctx, tx, o.Actor().Email, "case.follower.add", "case", strconv.FormatInt(caseID, 10), nil,
			map[string]any{"officer_id": colleague, "email": email})
	})
}

// Delivery is what is known of a package's delivery to the agency.
type Delivery struct {
	PackageID      int64      `json:"package_id" db:"package_id"`
	Downloads      int        `json:"downloads" db:"downloads"`
	FirstDownload  *time.Time `json:"first_download" db:"first_download"`
	AcknowledgedAt *time.Time `json:"acknowledged_at" db:"acknowledged_at"`
	// AnnouncedAt is when the agency was emailed that it is ready
	// (delivery.go), Recipients how many officers were.
	AnnouncedAt *time.Time `json:"announced_at" db:"announced_at"`
	Recipients  int        `json:"recipients" db:"recipients"`
}

// Deliveries returns the delivery state of a case's packages that were
// downloaded or acknowledged, by package ID.
func (db *DB) Deliveries(ctx context.Context, caseID int64) (map[int64]*Delivery, error) {
	var rows []struct {
		PackageID int64         `db:"id"`
		Downloads int           `db:"downloads"`
		Ack       sql.NullTime  `db:"acknowledged_at"`
		Announced sql.NullTime  `db:"announced_at"`
		To        sql.NullInt64 `db:"recipients"`
	}
	// The first download is read apart: MIN of a timestamp comes back as
	// text from SQLite.
	if err := db.r.SelectContext(ctx, &rows, db.r.Rebind(`SELECT p.id,
		(SELECT COUNT(*) FROM package_downloads d WHERE d.package_id = p.id) AS downloads,
		r.at AS acknowledged_at, n.at AS announced_at, n.recipients
		FROM packages p LEFT JOIN package_receipts r ON r.package_id = p.id
		LEFT JOIN package_notices n ON n.package_id = p.id WHERE p.case_id = ?`), caseID); err != nil {
		return nil, err
	}
	out := map[int64]*Delivery{}
	for _, r := range rows {
		d := &Delivery{PackageID: r.PackageID, Downloads: r.Downloads, Recipients: int(r.To.Int64)}
		if r.Announced.Valid {
			t := r.Announced.Time.UTC()
			d.AnnouncedAt = &t
		}
		if r.Ack.Valid {
			t := r.Ack.Time.UTC()
			d.AcknowledgedAt = &t
		}
		if d.Downloads > 0 {
			var first time.Time
			if err := db.r.GetContext(ctx, &first, db.r.Rebind("SELECT at FROM package_downloads WHERE package_id = ? ORDER BY id LIMIT 1"), r.PackageID); err != nil {
				return nil, err
			}
			first = first.UTC()
			d.FirstDownload = &first
		}
		out[r.PackageID] = d
	}
	return out, nil
}

// RecordDownload records that the officer downloaded package packageID
// (its SHA-256 as served) of case caseID, in the audit log too.
func (db *DB) RecordDownload(ctx context.Context, o *Officer, caseID, packageID int64, sha string) error {
	now := db.Now()
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO package_downloads (package_id, officer_id, sha256, at) VALUES (?, ?, ?, ?)"),
			packageID, o.ID, sha, now); err != nil {
			return err
		}
		return db.Audit(ctx, tx, o.Actor().Email, "package.download", "case", strconv.FormatInt(caseID, 10), nil,
			map[string]any{"package_id": packageID, "sha256": sha, "officer_id": o.ID, "at": now})
	})
}

// AcknowledgeReceipt records the officer's confirmation that package
// packageID of case caseID arrived; it needs a download first, and counts
// once.
func (db *DB) AcknowledgeReceipt(ctx context.Context, o *Officer, caseID, packageID int64) error {
	now := db.Now()
	return db.Tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM package_downloads d JOIN packages p ON p.id = d.package_id
			WHERE d.package_id = ? AND p.case_id = ?`), packageID, caseID); err != nil {
			return err
		}
		if n == 0 {
			return cases.Errorf(cases.ECONFLICT, "download the package before acknowledging its receipt")
		}
		var sha string
		if err := tx.GetContext(ctx, &sha, tx.Rebind("SELECT sha256 FROM packages WHERE id = ?"), packageID); err != nil {
			return err
		}
		var exists int
		if err := tx.GetContext(ctx, &exists, tx.Rebind("SELECT COUNT(*) FROM package_receipts WHERE package_id = ?"), packageID); err != nil {
			return err
		}
		if exists > 0 {
			return cases.Errorf(cases.ECONFLICT, "receipt of this package is already acknowledged")
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO package_receipts (package_id, officer_id, at) VALUES (?, ?, ?)"), packageID, o.ID, now); err != nil {
			return err
		}
		return db.Audit(ctx, tx, o.Actor().Email, "package.acknowledge", "case", strconv.FormatInt(caseID, 10), nil,
			map[string]any{"package_id": packageID, "sha256": sha, "officer_id": o.ID, "at": now})
	})
}
