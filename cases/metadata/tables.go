package metadata

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
)

// table says where records of one kind live. Its columns are account, the
// kind's fields (in fields() order) and imported_at.
type table struct {
	name string
	// key is the unique key (account first): importing a record with the
	// same key updates the stored one instead of adding a copy.
	key []string
	// timeCol is the column a window limits; "" for snapshot records
	// (a device, a profile), which are current rather than historical.
	timeCol string
}

var tables = map[Kind]table{
	KindSubscriber:      {"meta_subscribers", []string{"account"}, ""},
	KindIPSession:       {"meta_ip_sessions", []string{"account", "at", "ip", "port"}, "at"},
	KindDevice:          {"meta_devices", []string{"account", "device_id"}, ""},
	KindProfile:         {"meta_profiles", []string{"account"}, ""},
	KindGroupMembership: {"meta_group_memberships", []string{"account", "group_id"}, ""},
	KindLinkedAccount:   {"meta_linked_accounts", []string{"account", "service", "service_account"}, ""},
	KindEnforcement:     {"meta_enforcements", []string{"account", "at", "action"}, "at"},
	KindContact:         {"meta_contacts", []string{"account", "contact"}, ""},
	KindMessage:         {"meta_messages", []string{"account", "at", "from_account", "to_account", "message_kind"}, "at"},
}

// columns lists a kind's columns, less imported_at.
func columns(k Kind) []string {
	fs := NewRecord(k).fields()
	cols := make([]string, 0, len(fs)+1)
	cols = append(cols, "account")
	for i := range fs {
		cols = append(cols, fs[i].column())
	}
	return cols
}

// upsertSQL is the upsert of n records of kind k: a new key is inserted, a
// known one updated, so importing a file twice changes nothing.
func upsertSQL(k Kind, n int) string {
	t := tables[k]
	cols := columns(k)
	var set []string
	for _, c := range cols {
		if !contains(t.key, c) {
			set = append(set, c+" = excluded."+c)
		}
	}
	set = append(set, "imported_at = excluded.imported_at")
	row := "(" + placeholders(len(cols)+1) + ")"
	return fmt.Sprintf("INSERT INTO %s (%s, imported_at) VALUES %s ON CONFLICT (%s) DO UPDATE SET %s",
		t.name, strings.Join(cols, ", "), strings.TrimSuffix(strings.Repeat(row+", ", n), ", "),
		strings.Join(t.key, ", "), strings.Join(set, ", "))
}

// upsertRows gathers one kind's rows of a batch for multi-row upserts: one
// round trip per few hundred records instead of one per record, which is
// what PostgreSQL's import speed hangs on.
type upsertRows struct {
	kind   Kind
	keyIdx []int // positions of the key columns in a row
	rows   [][]any
	byKey  map[string]int
}

func newUpsertRows(k Kind) *upsertRows {
	u := &upsertRows{kind: k, byKey: map[string]int{}}
	for i, c := range columns(k) {
		if contains(tables[k].key, c) {
			u.keyIdx = append(u.keyIdx, i)
		}
	}
	return u
}

// add queues a row. A key seen earlier in the batch is replaced, last one
// winning as it would in one-by-one upserts: PostgreSQL refuses to update
// a row twice in one statement.
func (u *upsertRows) add(row []any) {
	var key strings.Builder
	for _, i := range u.keyIdx {
		switch v := row[i].(type) {
		case time.Time:
			key.WriteString(strconv.FormatInt(v.UnixNano(), 36))
		default:
			fmt.Fprint(&key, v)
		}
		key.WriteByte(0)
	}
	if i, ok := u.byKey[key.String()]; ok {
		u.rows[i] = row
		return
	}
	u.byKey[key.String()] = len(u.rows)
	u.rows = append(u.rows, row)
}

// maxParams keeps a statement under SQLite's and PostgreSQL's limits on
// bound parameters.
const maxParams = 30000

func (u *upsertRows) exec(ctx context.Context, tx *sqlx.Tx) error {
	if len(u.rows) == 0 {
		return nil
	}
	width := len(u.rows[0])
	per := min(maxParams/width, 500)
	args := make([]any, 0, per*width)
	for start := 0; start < len(u.rows); start += per {
		chunk := u.rows[start:min(start+per, len(u.rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(upsertSQL(u.kind, len(chunk))), args...); err != nil {
			return fmt.Errorf("store %s records: %w", u.kind, err)
		}
	}
	return nil
}

// values are a record's column values, in columns() order, plus imported_at.
func values(r Record, importedAt time.Time) []any {
	fs := r.fields()
	vals := make([]any, 0, len(fs)+2)
	vals = append(vals, r.header().Account)
	for i := range fs {
		switch p := fs[i].ptr.(type) {
		case *string:
			vals = append(vals, *p)
		case *int:
			vals = append(vals, *p)
		case *time.Time:
			vals = append(vals, p.UTC())
		case **time.Time:
			if *p == nil {
				vals = append(vals, nil)
			} else {
				vals = append(vals, (*p).UTC())
			}
		}
	}
	return append(vals, importedAt)
}

// scanTargets are the pointers a row of kind k scans into.
func scanTargets(r Record) []any {
	fs := r.fields()
	ptrs := make([]any, 0, len(fs)+1)
	ptrs = append(ptrs, &r.header().Account)
	for i := range fs {
		ptrs = append(ptrs, fs[i].ptr)
	}
	return ptrs
}

// toUTC puts a scanned record's times in UTC: drivers return them in the
// session's zone.
func toUTC(r Record) {
	for _, f := range r.fields() {
		switch p := f.ptr.(type) {
		case *time.Time:
			*p = p.UTC()
		case **time.Time:
			if *p != nil {
				t := (*p).UTC()
				*p = &t
			}
		}
	}
}

// queryer is what both *sqlx.DB and *sqlx.Tx offer.
type queryer interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
	Rebind(string) string
}

// Query selects stored records: one category, for some accounts, and for
// historical kinds only those inside Window (when set).
type Query struct {
	Category cases.Category
	Accounts []string
	Window   *cases.Window
}

// eachRecord calls fn with each record q selects, oldest first per account.
// Contacts are read both ways: the account's address book, and the address
// books that hold the account (the catalogue's "users who have the account
// in theirs").
func eachRecord(ctx context.Context, db queryer, q Query, fn func(Record) error) error {
	kind, ok := KindOf(q.Category)
	if !ok || len(q.Accounts) == 0 {
		return nil
	}
	t := tables[kind]
	in := "(" + placeholders(len(q.Accounts)) + ")"
	args := make([]any, 0, 2*len(q.Accounts)+2)
	for _, a := range q.Accounts {
		args = append(args, a)
	}
	where := "account IN " + in
	if kind == KindContact {
		where = "(account IN " + in + " OR contact IN " + in + ")"
		args = append(args, args...)
	}
	order := "account, id"
	if t.timeCol != "" {
		order = "account, " + t.timeCol + ", id"
		if q.Window != nil {
			where += " AND " + t.timeCol + " >= ? AND " + t.timeCol + " < ?"
			args = append(args, q.Window.From.UTC(), q.Window.To.UTC())
		}
	}
	query := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s", strings.Join(columns(kind), ", "), t.name, where, order)
	rows, err := db.QueryxContext(ctx, db.Rebind(query), args...)
	if err != nil {
		return fmt.Errorf("read %s records: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		r := NewRecord(kind)
		if err := rows.Scan(scanTargets(r)...); err != nil {
			return fmt.Errorf("read %s records: %w", kind, err)
		}
		toUTC(r)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
