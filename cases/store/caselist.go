package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"envelope/cases"
)

// Sortable case lists. ListCases pages newest first by id; ListSummaries
// can also order by another column (received, due or number), either way, still by
// keyset: the cursor is the last row's (value, id), so a deep page costs
// what the first does and a case logged meanwhile never shifts a page.

// SortKeys are the columns a case list can be sorted by.
var SortKeys = []string{"received", "due", "number"}

var sortColumns = map[string]string{"received": "received_at", "due": "due_at", "number": "number"}

// SummaryPage is one page of case summaries. Next is the opaque cursor of
// the next page, "" on the last: an id newest first, else the last row's
// sort value and id.
type SummaryPage struct {
	Cases []*cases.Summary
	Next  string
}

// listRow is a case row as any list reads it: the full case's columns
// (caseColumns) or a summary's (summaryColumns), and the value it is sorted
// by. sqlx fills the fields of the columns selected.
type listRow struct {
	caseRow
	AgencyName string       `db:"agency_name"`
	Country    string       `db:"agency_country"`
	Process    string       `db:"process_type"`
	Targets    int          `db:"target_count"`
	Outcome    string       `db:"outcome"`
	Received   time.Time    `db:"sort_received"`
	Due        sql.NullTime `db:"sort_due"`
}

// summaryColumns are what a list row shows; the agency's name is looked up
// by primary key rather than joined, so the list's filters and cursor need
// no table prefixes.
const summaryColumns = "id, number, status, assignee, agency_country, process_type, target_count, outcome, " +
	"(SELECT name FROM agencies WHERE agencies.id = cases.agency_id) AS agency_name"

func (r *listRow) summary() *cases.Summary {
	s := r.summaryValue()
	return &s
}

func (r *listRow) summaryValue() cases.Summary {
	s := cases.Summary{ID: r.ID, Number: r.Number, Status: cases.Status(r.Status), AgencyName: r.AgencyName,
		Country: r.Country, Process: cases.ProcessType(r.Process), ReceivedAt: r.Received.UTC(),
		Targets: r.Targets, Outcome: cases.Outcome(r.Outcome), Assignee: r.Assignee}
	if r.Due.Valid {
		t := r.Due.Time.UTC()
		s.DueAt = &t
	}
	return s
}

// nullPhase marks a due-date cursor that has reached the cases without a
// due date, which come after every dated case in either direction.
const nullPhase = "null"

// fullCases decodes rows read with caseColumns.
func fullCases(rows []listRow) ([]*cases.Case, error) {
	list := make([]*cases.Case, len(rows))
	for i := range rows {
		c, err := rows[i].toCase()
		if err != nil {
			return nil, err
		}
		list[i] = c
	}
	return list, nil
}

// ListSummaries is the portal's case list: one page of the cases matching f
// as summaries, which cost a fraction of full cases to read. With key ""
// it is ListCases's page (newest first, by f.After); with key one of
// SortKeys it is ordered by that column, descending when desc, ties broken
// by id in the same direction, undated cases last when sorting by due, and
// cursor (the previous page's Next) is the position.
func (db *DB) ListSummaries(ctx context.Context, f cases.CaseFilter, key string, desc bool, cursor string) (*SummaryPage, error) {
	if _, ok := sortColumns[key]; !ok && key != "" {
		return nil, cases.Invalid(map[string]string{"sort": "choose received, due or number"})
	}
	rows, next, err := db.listRows(ctx, f, key, desc, cursor, summaryColumns)
	if err != nil {
		return nil, err
	}
	page := &SummaryPage{Cases: make([]*cases.Summary, len(rows)), Next: next}
	all := make([]cases.Summary, len(rows)) // one allocation for the page
	for i := range rows {
		all[i] = rows[i].summaryValue()
		page.Cases[i] = &all[i]
	}
	return page, nil
}

func listLimit(f cases.CaseFilter) int {
	if f.Limit <= 0 || f.Limit > cases.MaxPageSize {
		return 50
	}
	return f.Limit
}

// listRows reads one page of the list of f, selecting cols: ordered by key's
// column (key "" is newest first by id, paged by f.After, always
// descending) and then id, starting after cursor. It returns at most
// listLimit(f) rows and the next page's cursor, "" on the last page.
func (db *DB) listRows(ctx context.Context, f cases.CaseFilter, key string, desc bool, cursor string, cols string) ([]listRow, string, error) {
	limit := listLimit(f)
	if _, err := queryWords(f.Query); err != nil {
		return nil, "", err
	}
	where, args := db.filterClause(f, key)
	var rows []listRow
	query := func(conds []string, cargs []any, order string, n int) error {
		all := append(append([]string{}, where...), conds...)
		q := "SELECT " + cols + ", received_at AS sort_received, due_at AS sort_due FROM cases"
		if cols == summaryColumns && db.Dialect == SQLite {
			q = "SELECT " + packedSummary + " FROM cases"
		}
		if len(all) > 0 {
			q += " WHERE " + strings.Join(all, " AND ")
		}
		q += " ORDER BY " + order + " LIMIT " + strconv.Itoa(n)
		qargs := append(append(make([]any, 0, len(args)+len(cargs)), args...), cargs...)
		if cols == summaryColumns {
			return db.scanSummaries(ctx, &rows, db.r.Rebind(q), qargs, n)
		}
		var got []listRow
		if err := db.r.SelectContext(ctx, &got, db.r.Rebind(q), qargs...); err != nil {
			return err
		}
		rows = append(rows, got...)
		return nil
	}
	if key == "" {
		var conds []string
		var cargs []any
		if f.After > 0 {
			conds, cargs = []string{"id < ?"}, []any{f.After}
		}
		if err := query(conds, cargs, "id DESC", limit+1); err != nil {
			return nil, "", err
		}
		if len(rows) > limit {
			return rows[:limit], strconv.FormatInt(rows[limit-1].ID, 10), nil
		}
		return rows, "", nil
	}
	col := sortColumns[key]
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	// The cursor: the last row's sort value and id.
	var curVal string
	var curID int64
	if cursor != "" {
		i := strings.LastIndexByte(cursor, '_')
		var err error
		if i > 0 {
			curVal = cursor[:i]
			curID, err = strconv.ParseInt(cursor[i+1:], 10, 64)
		}
		if i <= 0 || err != nil || curID <= 0 {
			return nil, "", cases.Invalid(map[string]string{"cursor": "is not a cursor of this list"})
		}
	}
	order := col + " " + dir + ", id " + dir
	inNulls := key == "due" && curVal == nullPhase
	if !inNulls {
		var conds []string
		var cargs []any
		if key == "due" {
			conds = append(conds, "due_at IS NOT NULL")
		}
		if cursor != "" {
			var v any = curVal
			if key != "number" {
				t, err := time.Parse(time.RFC3339Nano, curVal)
				if err != nil {
					return nil, "", cases.Invalid(map[string]string{"cursor": "is not a cursor of this list"})
				}
				v = t
			}
			// The redundant bound on the column alone lets either engine
			// start its index range scan at the cursor.
			conds = append(conds, col+" "+cmp+"= ?", "("+col+", id) "+cmp+" (?, ?)")
			cargs = append(cargs, v, v, curID)
		}
		if err := query(conds, cargs, order, limit+1); err != nil {
			return nil, "", err
		}
	}
	// Sorting by due date, the undated cases follow once the dated ones run
	// out, by id; none can match a due date range, and looking for them
	// would walk every case of the other filters.
	if key == "due" && len(rows) <= limit && f.DueBefore == nil && f.DueAfter == nil {
		conds := []string{"due_at IS NULL"}
		var cargs []any
		if inNulls {
			conds = append(conds, "id "+cmp+" ?")
			cargs = append(cargs, curID)
		}
		if err := query(conds, cargs, "id "+dir, limit+1-len(rows)); err != nil {
			return nil, "", err
		}
	}
	if len(rows) <= limit {
		return rows, "", nil
	}
	last := rows[limit-1]
	var next string
	switch {
	case key == "number":
		next = last.Number
	case key == "due" && !last.Due.Valid:
		next = nullPhase
	case key == "due":
		next = last.Due.Time.UTC().Format(time.RFC3339Nano)
	default:
		next = last.Received.UTC().Format(time.RFC3339Nano)
	}
	return rows[:limit], next + "_" + strconv.FormatInt(last.ID, 10), nil
}

// filterClause is the WHERE clause of f, without any cursor, shared by
// every case list. Sorting by due date, the due-date bounds may use the
// (status, due_at) index; otherwise, on SQLite, the unary plus keeps the
// planner from walking that index and sorting: walking the sort order finds
// a page sooner.
func (db *DB) filterClause(f cases.CaseFilter, key string) ([]string, []any) {
	var where []string
	var args []any
	add := func(cond string, arg any) { where = append(where, cond); args = append(args, arg) }
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Country != "" {
		add("agency_country = ?", strings.ToUpper(f.Country))
	}
	if f.Process != "" {
		add("process_type = ?", f.Process)
	}
	if f.NotProcess != "" {
		add("process_type <> ?", f.NotProcess)
	}
	due := "due_at"
	if db.Dialect == SQLite && key != "due" {
		due = "+due_at"
	}
	if f.DueBefore != nil {
		add(due+" < ?", *f.DueBefore)
	}
	if f.DueAfter != nil {
		add(due+" >= ?", *f.DueAfter)
	}
	if f.Assignee != "" {
		add("assignee = ?", f.Assignee)
	}
	if cond, qargs := db.queryClause(f.Query, f.Country); cond != "" {
		where = append(where, cond)
		args = append(args, qargs...)
	}
	return where, args
}

// NewestByStatus is ListSummaries's first page newest first (key "", no
// cursor) of f for each of statuses in turn, f.Status set to each, in one
// statement: the pages joined by UNION ALL. It returns the pages one
// after another, each newest first, as separate calls would. The
// dashboard's "my queue" is one page per open status for every request;
// on PostgreSQL each statement is a round trip to another process, and
// three of them were most of the dashboard's database time there
// (issue 18).
func (db *DB) NewestByStatus(ctx context.Context, f cases.CaseFilter, statuses []cases.Status) ([]*cases.Summary, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	if _, err := queryWords(f.Query); err != nil {
		return nil, err
	}
	limit := listLimit(f)
	f.After = 0
	parts := make([]string, len(statuses))
	var args []any
	for i, st := range statuses {
		f.Status = st
		where, wargs := db.filterClause(f, "")
		q := "SELECT " + summaryColumns + ", received_at AS sort_received, due_at AS sort_due FROM cases"
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		parts[i] = "SELECT * FROM (" + q + " ORDER BY id DESC LIMIT " + strconv.Itoa(limit) + ") AS p" + strconv.Itoa(i)
		args = append(args, wargs...)
	}
	var rows []listRow
	if err := db.r.SelectContext(ctx, &rows, db.r.Rebind(strings.Join(parts, " UNION ALL ")), args...); err != nil {
		return nil, err
	}
	// UNION ALL promises no order: put the rows back in the pages' order.
	rank := func(s string) int { return slices.Index(statuses, cases.Status(s)) }
	slices.SortFunc(rows, func(a, b listRow) int {
		if c := cmp.Compare(rank(a.Status), rank(b.Status)); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	out := make([]*cases.Summary, len(rows))
	for i := range rows {
		out[i] = rows[i].summary()
	}
	return out, nil
}
