package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/agencymatch"
)

// AgencyEntry is one entry of the agency directory, the only source of trust
// about who is asking: the agency's name and aliases, the email domains its
// officers write from, the number a callback must go to, and the admin who
// verified the entry and when. Only admins add or change entries; no
// request, import or intake form does (docs/security.md).
type AgencyEntry struct {
	ID int64 `json:"id"`
	cases.Agency
	Aliases    []string   `json:"aliases"`
	Phone      string     `json:"phone"`
	VerifiedBy string     `json:"verified_by"`
	VerifiedAt *time.Time `json:"verified_at"`
}

// MaxAgencyName bounds an agency's name and each alias.
const MaxAgencyName = 200

// agencyColumns are the columns of a directory entry.
const agencyColumns = "id, name, country, verified_domains, aliases, phone, verified_by, verified_at"

type agencyRow struct {
	ID         int64        `db:"id"`
	Name       string       `db:"name"`
	Country    string       `db:"country"`
	Domains    string       `db:"verified_domains"`
	Aliases    string       `db:"aliases"`
	Phone      string       `db:"phone"`
	VerifiedBy string       `db:"verified_by"`
	VerifiedAt sql.NullTime `db:"verified_at"`
}

func (r agencyRow) entry() (*AgencyEntry, error) {
	e := &AgencyEntry{ID: r.ID, Agency: cases.Agency{Name: r.Name, Country: r.Country}, Phone: r.Phone, VerifiedBy: r.VerifiedBy}
	if err := json.Unmarshal([]byte(r.Domains), &e.VerifiedDomains); err != nil {
		return nil, fmt.Errorf("agency %d: stored domains: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Aliases), &e.Aliases); err != nil {
		return nil, fmt.Errorf("agency %d: stored aliases: %w", r.ID, err)
	}
	if r.VerifiedAt.Valid {
		t := r.VerifiedAt.Time.UTC()
		e.VerifiedAt = &t
	}
	e.VerifiedDomains, e.Aliases = nonNil(e.VerifiedDomains), nonNil(e.Aliases)
	return e, nil
}

// Agencies lists the directory, by country and then name.
func (db *DB) Agencies(ctx context.Context) ([]*AgencyEntry, error) {
	return db.listed(ctx, db.r)
}

func (db *DB) listed(ctx context.Context, q sqlx.QueryerContext) ([]*AgencyEntry, error) {
	var rows []agencyRow
	if err := sqlx.SelectContext(ctx, q, &rows, "SELECT "+agencyColumns+" FROM agencies WHERE listed ORDER BY country, name, id"); err != nil {
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

// AgencyByID returns one entry of the directory.
func (db *DB) AgencyByID(ctx context.Context, id int64) (*AgencyEntry, error) {
	return db.agencyByID(ctx, db.r, id)
}

func (db *DB) agencyByID(ctx context.Context, q sqlx.QueryerContext, id int64) (*AgencyEntry, error) {
	var r agencyRow
	err := sqlx.GetContext(ctx, q, &r, db.r.Rebind("SELECT "+agencyColumns+" FROM agencies WHERE listed AND id = ?"+db.lockIn(q)), id)
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

// CleanAgency validates a directory entry: a name, an ISO country code, at
// least one email domain (IDNA ASCII, lower case, deduplicated), an E.164
// callback number, and aliases that are names. Errors name the fields name,
// country, verified_domains, phone and aliases.
func CleanAgency(e AgencyEntry) (AgencyEntry, error) {
	f := map[string]string{}
	e.Name = strings.Join(strings.Fields(e.Name), " ")
	e.Country = strings.ToUpper(strings.TrimSpace(e.Country))
	if msg := nameProblem(e.Name); msg != "" {
		f["name"] = msg
	}
	if msg := cases.ValidCountry(e.Country); msg != "" {
		f["country"] = msg
	}
	domains := []string{}
	var bad []string
	for _, d := range e.VerifiedDomains {
		if strings.TrimSpace(d) == "" {
			continue
		}
		n, err := agencymatch.NormalizeDomain(d)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q", d))
			continue
		}
		if msg := agencymatch.OwnDomainProblem(n); msg != "" {
			f["verified_domains"] = fmt.Sprintf("%q %s", n, msg)
			continue
		}
		if !contains(domains, n) {
			domains = append(domains, n)
		}
	}
	switch {
	case f["verified_domains"] != "":
	case len(bad) == 1:
		f["verified_domains"] = bad[0] + " is not a domain name"
	case len(bad) > 1:
		f["verified_domains"] = strings.Join(bad, ", ") + " are not domain names"
	case len(domains) == 0:
		f["verified_domains"] = "at least one email domain of the agency is required"
	}
	e.VerifiedDomains = domains
	e.Phone = strings.TrimSpace(e.Phone)
	if e.Phone == "" {
		f["phone"] = "is required: the agency's callback number, E.164 (e.g. +12025550100)"
	} else if msg := cases.ValidPhone(e.Phone); msg != "" {
		f["phone"] = msg
	}
	aliases := []string{}
	for _, a := range e.Aliases {
		a = strings.Join(strings.Fields(a), " ")
		if a == "" || contains(aliases, a) || a == e.Name {
			continue
		}
		if msg := nameProblem(a); msg != "" {
			f["aliases"] = fmt.Sprintf("%q %s", a, msg)
		}
		aliases = append(aliases, a)
	}
	e.Aliases = aliases
	if len(f) > 0 {
		return e, cases.Invalid(f)
	}
	return e, nil
}

func nameProblem(n string) string {
	switch {
	case n == "":
		return "is required"
	case utf8.RuneCountInString(n) > MaxAgencyName:
		return fmt.Sprintf("is longer than %d characters", MaxAgencyName)
	case strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "must not contain control characters"
	case cases.TextProblem(n) != "":
		return cases.TextProblem(n)
	case agencymatch.Fold(n) == "":
		return "has no letters or digits"
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CreateAgency adds an entry to the directory, verified by actor now,
// audited as agency.create. An entry whose name folds to the same name as
// another entry's name or alias in the same country is a conflict: two
// entries a request could match would make the match ambiguous. A row that
// only named the agency of logged cases is taken into the directory.
func (db *DB) CreateAgency(ctx context.Context, actor string, in AgencyEntry) (*AgencyEntry, error) {
	e, err := CleanAgency(in)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	e.VerifiedBy, e.VerifiedAt = actor, &now
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := db.agencyUnique(ctx, tx, e, 0); err != nil {
			return err
		}
		domains, _ := json.Marshal(e.VerifiedDomains)
		aliases, _ := json.Marshal(e.Aliases)
		// A row left by intake with exactly this name and country is listed
		// now; its old domains are replaced by the admin's.
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE agencies SET listed = TRUE, verified_domains = ?, aliases = ?, phone = ?, verified_by = ?, verified_at = ?, revision = revision + 1
			WHERE name = ? AND country = ? AND NOT listed`), string(domains), string(aliases), e.Phone, actor, now, e.Name, e.Country)
		if err != nil {
			return fmt.Errorf("list agency: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if err := tx.GetContext(ctx, &e.ID, tx.Rebind("SELECT id FROM agencies WHERE name = ? AND country = ?"), e.Name, e.Country); err != nil {
				return err
			}
		} else if err := tx.GetContext(ctx, &e.ID, tx.Rebind(`INSERT INTO agencies (name, country, verified_domains, aliases, phone, verified_by, verified_at, listed)
			VALUES (?, ?, ?, ?, ?, ?, ?, TRUE) RETURNING id`), e.Name, e.Country, string(domains), string(aliases), e.Phone, actor, now); err != nil {
			return fmt.Errorf("insert agency: %w", err)
		}
		return db.Audit(ctx, tx, actor, "agency.create", "agency", strconv.FormatInt(e.ID, 10), nil, e)
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// UpdateAgency changes a directory entry, verified again by actor now,
// audited as agency.update with the entry before and after. Cases already
// logged keep the agency as their request named it.
func (db *DB) UpdateAgency(ctx context.Context, actor string, id int64, in AgencyEntry) (*AgencyEntry, error) {
	e, err := CleanAgency(in)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	e.ID, e.VerifiedBy, e.VerifiedAt = id, actor, &now
	err = db.Tx(ctx, func(tx *sqlx.Tx) error {
		before, err := db.agencyByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := db.agencyUnique(ctx, tx, e, id); err != nil {
			return err
		}
		domains, _ := json.Marshal(e.VerifiedDomains)
		aliases, _ := json.Marshal(e.Aliases)
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE agencies SET name = ?, country = ?, verified_domains = ?, aliases = ?, phone = ?, verified_by = ?, verified_at = ?, revision = revision + 1
			WHERE id = ?`), e.Name, e.Country, string(domains), string(aliases), e.Phone, actor, now, id); err != nil {
			return fmt.Errorf("update agency: %w", err)
		}
		return db.Audit(ctx, tx, actor, "agency.update", "agency", strconv.FormatInt(id, 10), before, e)
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// agencyUnique refuses an entry whose name or an alias folds to the name or
// an alias of another listed entry (not id) in the same country, and a name
// and country that another row (not id) holds exactly.
func (db *DB) agencyUnique(ctx context.Context, tx *sqlx.Tx, e AgencyEntry, id int64) error {
	list, err := db.listed(ctx, tx)
	if err != nil {
		return err
	}
	conflict := func(field, msg string) error {
		return &cases.Error{Code: cases.ECONFLICT, Message: "agency exists", Fields: map[string]string{field: msg}}
	}
	for _, o := range list {
		if o.ID == id || o.Country != e.Country {
			continue
		}
		for _, mine := range append([]string{e.Name}, e.Aliases...) {
			if r := agencymatch.Match(mine, e.Country, []agencymatch.Entry{matchEntry(o)}); r.Kind == agencymatch.Known {
				field := "name"
				if mine != e.Name {
					field = "aliases"
				}
				return conflict(field, fmt.Sprintf("%s is already in the directory as %s (%s)", mine, o.Name, o.Country))
			}
		}
	}
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM agencies WHERE name = ? AND country = ? AND listed AND id <> ?"),
		e.Name, e.Country, id); err != nil {
		return err
	}
	if n > 0 {
		return conflict("name", fmt.Sprintf("%s (%s) is already in the directory", e.Name, e.Country))
	}
	if id != 0 { // renaming onto a row intake left: that row must keep its cases
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM agencies WHERE name = ? AND country = ? AND id <> ?"),
			e.Name, e.Country, id); err != nil {
			return err
		}
		if n > 0 {
			return conflict("name", fmt.Sprintf("cases already name %s (%s): add it as a new entry instead", e.Name, e.Country))
		}
	}
	return nil
}

func matchEntry(e *AgencyEntry) agencymatch.Entry {
	return agencymatch.Entry{ID: e.ID, Name: e.Name, Country: e.Country, Aliases: e.Aliases}
}

// ResolveAgency matches the agency a request names against the directory
// (cases/agencymatch): the entry it is, with that entry's domains and
// callback number, the entry it looks like, or unknown. The policy reads
// the result (Request.Directory); nothing the request claims is in it.
func (db *DB) ResolveAgency(ctx context.Context, a cases.Agency) (*cases.AgencyMatch, error) {
	return db.resolveAgency(ctx, db.r, a)
}

func (db *DB) resolveAgency(ctx context.Context, q sqlx.QueryerContext, a cases.Agency) (*cases.AgencyMatch, error) {
	d, err := db.loadDirectory(ctx, q)
	if err != nil {
		return nil, err
	}
	return d.match(a), nil
}

// directory is the listed entries with their match index.
type directory struct {
	key   string // directoryKey when it was read
	list  []*AgencyEntry
	index *agencymatch.Index
}

// loadDirectory returns the directory's entries and match index, kept
// between calls: indexing folds every name into its confusable skeletons,
// 64 ms for 1,000 entries against 0.1 ms to match one name
// (BenchmarkMatch). A cheap key read each time (how many entries, the
// newest id, the sum of their revisions, which every listing and change
// raises) tells whether the copy is current, also when another instance
// changed the directory.
func (db *DB) loadDirectory(ctx context.Context, q sqlx.QueryerContext) (*directory, error) {
	var k struct {
		N         int64 `db:"n"`
		MaxID     int64 `db:"max_id"`
		Revisions int64 `db:"revisions"`
	}
	if err := sqlx.GetContext(ctx, q, &k, "SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS max_id, COALESCE(SUM(revision), 0) AS revisions FROM agencies WHERE listed"); err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%d/%d/%d", k.N, k.MaxID, k.Revisions)
	if d := db.directory.Load(); d != nil && d.key == key {
		return d, nil
	}
	list, err := db.listed(ctx, q)
	if err != nil {
		return nil, err
	}
	d := newDirectory(list)
	d.key = key
	db.directory.Store(d)
	return d, nil
}

func newDirectory(list []*AgencyEntry) *directory {
	entries := make([]agencymatch.Entry, len(list))
	for i, e := range list {
		entries[i] = matchEntry(e)
	}
	return &directory{list: list, index: agencymatch.NewIndex(entries)}
}

// match matches an agency against the directory's entries.
func (d *directory) match(a cases.Agency) *cases.AgencyMatch {
	r := d.index.Match(a.Name, a.Country)
	m := &cases.AgencyMatch{Kind: string(r.Kind), Reason: r.Reason}
	if r.Entry != nil {
		for _, e := range d.list {
			if e.ID == r.Entry.ID {
				// A look-alike gets the number of the entry it resembles, so
				// a callback can ask that agency whether it sent the request;
				// only the entry itself lends its domains.
				m.AgencyID, m.Name, m.Country, m.Phone = e.ID, e.Name, e.Country, e.Phone
				if r.Kind == agencymatch.Known {
					m.Domains = e.VerifiedDomains
				}
			}
		}
	}
	return m
}

// Resolve sets req.Directory to the directory's match of its agency, so
// the policy decides on what the directory says and not on what the
// request claims.
func (db *DB) Resolve(ctx context.Context, req *cases.Request) error {
	m, err := db.ResolveAgency(ctx, req.Agency)
	if err != nil {
		return err
	}
	req.Directory = m
	return nil
}

// caseAgency returns the agencies row a new case points at: the directory
// entry its agency is, or else the row that only names that agency as the
// request wrote it, created the first time a case names it. Such a row is
// never listed and holds no domains: a request cannot put anything in the
// directory.
func (db *DB) caseAgency(ctx context.Context, tx *sqlx.Tx, a cases.Agency) (int64, error) {
	m, err := db.resolveAgency(ctx, tx, a)
	if err != nil {
		return 0, err
	}
	if m.Kind == cases.AgencyKnown {
		return m.AgencyID, nil
	}
	// On PostgreSQL two requests from a new agency may both get here; the
	// second waits for the first to commit and then inserts nothing, and
	// takes the row the first created instead of failing the request.
	var id int64
	err = tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO agencies (name, country) VALUES (?, ?)
		ON CONFLICT (name, country) DO NOTHING RETURNING id`), a.Name, a.Country)
	if errors.Is(err, sql.ErrNoRows) {
		if err := tx.GetContext(ctx, &id, tx.Rebind("SELECT id FROM agencies WHERE name = ? AND country = ?"), a.Name, a.Country); err != nil {
			return 0, fmt.Errorf("read agency: %w", err)
		}
		return id, nil
	} else if err != nil {
		return 0, fmt.Errorf("insert agency: %w", err)
	}
	return id, nil
}

// DirectoryFile is a directory as a JSON file lists it, such as
// testdata/demo/directory.json, which seeds the demo and the tests.
type DirectoryFile struct {
	Agencies []AgencyEntry `json:"agencies"`
}

// ListDirectory adds every entry of a directory file, as actor.
func (db *DB) ListDirectory(ctx context.Context, actor string, file []byte) ([]*AgencyEntry, error) {
	var d DirectoryFile
	if err := json.Unmarshal(file, &d); err != nil {
		return nil, fmt.Errorf("directory file: %w", err)
	}
	out := make([]*AgencyEntry, 0, len(d.Agencies))
	for _, e := range d.Agencies {
		added, err := db.CreateAgency(ctx, actor, e)
		if err != nil {
			return nil, fmt.Errorf("directory file: %s: %w", e.Name, err)
		}
		out = append(out, added)
	}
	return out, nil
}

// FirstContactSlack is how long before an agency's first logged request a
// new one may say it was received. A request from years before the agency
// ever wrote is a forger's backdating (to land inside an order's window, or
// outside a deadline) or a typing mistake, never a case to log as new;
// history goes in with `cases import`.
const FirstContactSlack = 2 * 365 * 24 * time.Hour

// CheckReceipt refuses, as a field error on received_at, a request whose
// received_at is in the future (cases.CheckReceived) or years before the
// first request logged from its directory entry (FirstContactSlack).
// req.Directory must be resolved.
func (db *DB) CheckReceipt(ctx context.Context, req *cases.Request, now time.Time) error {
	if err := cases.CheckReceived(req, now); err != nil {
		return err
	}
	m := req.Directory
	if m == nil || m.Kind != cases.AgencyKnown {
		return nil
	}
	// The oldest row rather than MIN(): SQLite returns an aggregate of a
	// timestamp column as text.
	var first time.Time
	err := db.r.GetContext(ctx, &first, db.r.Rebind("SELECT received_at FROM cases WHERE agency_id = ? ORDER BY received_at LIMIT 1"), m.AgencyID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	if req.ReceivedAt.Before(first.Add(-FirstContactSlack)) {
		return cases.Invalid(map[string]string{"received_at": fmt.Sprintf("%s is years before %s first wrote (%s): log history with `envelope cases import`, or give the time the request actually arrived",
			req.ReceivedAt.UTC().Format(time.RFC3339), m.Name, first.UTC().Format("2006-01-02"))})
	}
	return nil
}
