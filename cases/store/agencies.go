package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// AgencyEntry is one agency of the directory: the authorities requests come
// from, with the email domains their officers are known to write from. A
// case's agency is added to the directory when the case is logged; an admin
// can add agencies beforehand and correct their domains.
type AgencyEntry struct {
	ID int64 `json:"id"`
	cases.Agency
}

// MaxAgencyName bounds an agency's name.
const MaxAgencyName = 200

type agencyRow struct {
	ID      int64  `db:"id"`
	Name    string `db:"name"`
	Country string `db:"country"`
	Domains string `db:"verified_domains"`
}

func (r agencyRow) entry() (*AgencyEntry, error) {
	e := &AgencyEntry{ID: r.ID, Agency: cases.Agency{Name: r.Name, Country: r.Country, VerifiedDomains: []string{}}}
	if err := json.Unmarshal([]byte(r.Domains), &e.VerifiedDomains); err != nil {
		return nil, fmt.Errorf("agency %d: stored domains: %w", r.ID, err)
	}
	e.VerifiedDomains = nonNil(e.VerifiedDomains)
	return e, nil
}

// Agencies lists the directory, by country and then name.
func (db *DB) Agencies(ctx context.Context) ([]*AgencyEntry, error) {
	var rows []agencyRow
	if err := db.r.SelectContext(ctx, &rows, "SELECT id, name, country, verified_domains FROM agencies ORDER BY country, name, id"); err != nil {
		return nil, err
	}
	out := make([]*AgencyEntry, 0, len(rows))
	for _, r := range rows {
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// AgencyByID returns one agency of the directory.
func (db *DB) AgencyByID(ctx context.Context, id int64) (*AgencyEntry, error) {
	return db.agencyByID(ctx, db.r, id)
}

func (db *DB) agencyByID(ctx context.Context, q sqlx.QueryerContext, id int64) (*AgencyEntry, error) {
	var r agencyRow
	err := sqlx.GetContext(ctx, q, &r, db.r.Rebind("SELECT id, name, country, verified_domains FROM agencies WHERE id = ?"+db.lockIn(q)), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cases.Errorf(cases.ENOTFOUND, "no agency with id %d", id)
	} else if err != nil {
		return nil, err
	}
	return r.entry()
}

// lockIn locks the row read when q is a transaction (PostgreSQL only).
func (db *DB) lockIn(q sqlx.QueryerContext) string {
	if _, ok := q.(*sqlx.Tx); ok {
		return db.lockRow()
	}
	return ""
}

// CleanAgency validates an agency for the directory the way intake validates
// a request's agency: a name, an ISO country code, and domain names (lower
// case, deduplicated). Errors name the fields name, country and
// verified_domains.
func CleanAgency(a cases.Agency) (cases.Agency, error) {
	f := map[string]string{}
	a.Name = strings.Join(strings.Fields(a.Name), " ")
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	switch {
	case a.Name == "":
		f["name"] = "is required"
	case utf8.RuneCountInString(a.Name) > MaxAgencyName:
		f["name"] = fmt.Sprintf("is longer than %d characters", MaxAgencyName)
	case strings.ContainsFunc(a.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		f["name"] = "must not contain control characters"
	case cases.TextProblem(a.Name) != "":
		f["name"] = cases.TextProblem(a.Name)
	}
	if msg := cases.ValidCountry(a.Country); msg != "" {
		f["country"] = msg
	}
	domains := []string{}
	seen := map[string]bool{}
	var bad []string
	for _, d := range a.VerifiedDomains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, "@ /\\:") || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || len(d) > 253 {
			bad = append(bad, fmt.Sprintf("%q", d))
			continue
		}
		if !seen[d] {
			seen[d] = true
			domains = append(domains, d)
		}
	}
	if len(bad) > 0 {
		f["verified_domains"] = strings.Join(bad, ", ") + " is not a domain name"
		if len(bad) > 1 {
			f["verified_domains"] = strings.Join(bad, ", ") + " are not domain names"
		}
	}
	a.VerifiedDomains = domains
	if len(f) > 0 {
		return a, cases.Invalid(f)
	}
	return a, nil
}

// CreateAgency adds an agency to the directory, audited as agency.create.
// An agency with the same name and country is a conflict.
func (db *DB) CreateAgency(ctx context.Context, actor string, a cases.Agency) (*AgencyEntry, error) {
	a, err := CleanAgency(a)
	if err != nil {
		return nil, err
	}
	var e *AgencyEntry
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := db.agencyUnique(ctx, tx, a, 0); err != nil {
			return err
		}
		domains, _ := json.Marshal(a.VerifiedDomains)
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind("INSERT INTO agencies (name, country, verified_domains) VALUES (?, ?, ?) RETURNING id"),
			a.Name, a.Country, string(domains)); err != nil {
			return fmt.Errorf("insert agency: %w", err)
		}
		e = &AgencyEntry{ID: id, Agency: a}
		return db.Audit(ctx, tx, actor, "agency.create", "agency", strconv.FormatInt(id, 10), nil, a)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// UpdateAgency changes an agency's name, country or verified domains,
// audited as agency.update with the entry before and after. Cases already
// logged keep the agency as their request named it.
func (db *DB) UpdateAgency(ctx context.Context, actor string, id int64, a cases.Agency) (*AgencyEntry, error) {
	a, err := CleanAgency(a)
	if err != nil {
		return nil, err
	}
	var e *AgencyEntry
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		before, err := db.agencyByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := db.agencyUnique(ctx, tx, a, id); err != nil {
			return err
		}
		domains, _ := json.Marshal(a.VerifiedDomains)
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE agencies SET name = ?, country = ?, verified_domains = ? WHERE id = ?"),
			a.Name, a.Country, string(domains), id); err != nil {
			return fmt.Errorf("update agency: %w", err)
		}
		e = &AgencyEntry{ID: id, Agency: a}
		return db.Audit(ctx, tx, actor, "agency.update", "agency", strconv.FormatInt(id, 10), before.Agency, a)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// agencyUnique refuses a name and country another agency (not id) has.
func (db *DB) agencyUnique(ctx context.Context, tx *sqlx.Tx, a cases.Agency, id int64) error {
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM agencies WHERE name = ? AND country = ? AND id <> ?"),
		a.Name, a.Country, id); err != nil {
		return err
	}
	if n > 0 {
		return &cases.Error{Code: cases.ECONFLICT, Message: "agency exists",
			Fields: map[string]string{"name": fmt.Sprintf("%s (%s) is already in the directory", a.Name, a.Country)}}
	}
	return nil
}

// Trust replaces the verified domains a request claims for its agency with
// the directory's, when the directory knows the agency (same country, same
// name ignoring case and spacing). GLOBAL-REQUESTER checks the requester's
// email against these domains, and a forged request can claim any domain it
// likes: only the directory, kept by admins, is trusted. An agency the
// directory does not know keeps the request's domains (and is added to the
// directory with them when the case is logged); it reports known false so
// callers can say so.
func (db *DB) Trust(ctx context.Context, req *cases.Request) (known bool, err error) {
	e, err := db.findAgency(ctx, db.r, req.Agency.Name, req.Agency.Country)
	if err != nil || e == nil {
		return false, err
	}
	req.Agency.VerifiedDomains = e.VerifiedDomains
	return true, nil
}

// findAgency returns the directory's entry for an agency name and country,
// matching the name without regard to case or spacing, or nil. The match is
// done here rather than in SQL so both engines fold case the same way.
func (db *DB) findAgency(ctx context.Context, q sqlx.QueryerContext, name, country string) (*AgencyEntry, error) {
	var rows []agencyRow
	if err := sqlx.SelectContext(ctx, q, &rows, db.r.Rebind("SELECT id, name, country, verified_domains FROM agencies WHERE country = ? ORDER BY id"),
		strings.ToUpper(strings.TrimSpace(country))); err != nil {
		return nil, err
	}
	name = strings.Join(strings.Fields(name), " ")
	for _, r := range rows {
		if strings.EqualFold(strings.Join(strings.Fields(r.Name), " "), name) {
			return r.entry()
		}
	}
	return nil, nil
}
