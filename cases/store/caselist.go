package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"envelope/cases"
)

// Sortable case lists. ListCases pages newest first by id; ListCasesSorted
// orders by another column (received, due or number), either way, still by
// keyset: the cursor is the last row's (value, id), so a deep page costs
// what the first does and a case logged meanwhile never shifts a page.

// SortKeys are the columns a case list can be sorted by.
var SortKeys = []string{"received", "due", "number"}

var sortColumns = map[string]string{"received": "received_at", "due": "due_at", "number": "number"}

// SortedPage is one page of a sorted case list. Next is the opaque cursor
// of the next page, "" on the last.
type SortedPage struct {
	Cases []*cases.Case
	Next  string
}

// sortedRow is a case row with the value it is sorted by.
type sortedRow struct {
	caseRow
	Received time.Time    `db:"sort_received"`
	Due      sql.NullTime `db:"sort_due"`
}

// nullPhase marks a due-date cursor that has reached the cases without a
// due date, which come after every dated case in either direction.
const nullPhase = "null"

// ListCasesSorted returns one page of the cases matching f ordered by key
// (one of SortKeys), descending when desc, ties broken by id in the same
// direction. Cases without a due date come last when sorting by due. f.After
// is ignored: cursor (from the previous page's Next) is the position.
func (db *DB) ListCasesSorted(ctx context.Context, f cases.CaseFilter, key string, desc bool, cursor string) (*SortedPage, error) {
	col, ok := sortColumns[key]
	if !ok {
		return nil, cases.Invalid(map[string]string{"sort": "choose received, due or number"})
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	where, args := db.filterClause(f, key)
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
			return nil, cases.Invalid(map[string]string{"cursor": "is not a cursor of this list"})
		}
	}
	page := &SortedPage{Cases: []*cases.Case{}}
	var rows []sortedRow
	query := func(conds []string, cargs []any, order string, n int) error {
		all := append(append([]string{}, where...), conds...)
		q := "SELECT " + caseColumns + ", received_at AS sort_received, due_at AS sort_due FROM cases"
		if len(all) > 0 {
			q += " WHERE " + strings.Join(all, " AND ")
		}
		q += " ORDER BY " + order + " LIMIT " + strconv.Itoa(n)
		var got []sortedRow
		if err := db.r.SelectContext(ctx, &got, db.r.Rebind(q), append(append([]any{}, args...), cargs...)...); err != nil {
			return err
		}
		rows = append(rows, got...)
		return nil
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
					return nil, cases.Invalid(map[string]string{"cursor": "is not a cursor of this list"})
				}
				v = t
			}
			// The redundant bound on the column alone lets either engine
			// start its index range scan at the cursor.
			conds = append(conds, col+" "+cmp+"= ?", "("+col+", id) "+cmp+" (?, ?)")
			cargs = append(cargs, v, v, curID)
		}
		if err := query(conds, cargs, order, limit+1); err != nil {
			return nil, err
		}
	}
	// Sorting by due date, the undated cases follow once the dated ones run
	// out, by id.
	if key == "due" && len(rows) <= limit {
		conds := []string{"due_at IS NULL"}
		var cargs []any
		if inNulls {
			conds = append(conds, "id "+cmp+" ?")
			cargs = append(cargs, curID)
		}
		if err := query(conds, cargs, "id "+dir, limit+1-len(rows)); err != nil {
			return nil, err
		}
	}
	for i := range rows {
		if i == limit {
			last := rows[i-1]
			switch {
			case key == "number":
				page.Next = last.Number + "_" + strconv.FormatInt(last.ID, 10)
			case key == "due" && !last.Due.Valid:
				page.Next = nullPhase + "_" + strconv.FormatInt(last.ID, 10)
			case key == "due":
				page.Next = last.Due.Time.UTC().Format(time.RFC3339Nano) + "_" + strconv.FormatInt(last.ID, 10)
			default:
				page.Next = last.Received.UTC().Format(time.RFC3339Nano) + "_" + strconv.FormatInt(last.ID, 10)
			}
			break
		}
		c, err := rows[i].toCase()
		if err != nil {
			return nil, err
		}
		page.Cases = append(page.Cases, c)
	}
	return page, nil
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
	for _, w := range strings.Fields(strings.ToLower(f.Query)) {
		where = append(where, "id IN (SELECT case_id FROM case_terms WHERE term >= ? AND term < ?)")
		args = append(args, w, w+string(utf8.MaxRune))
	}
	return where, args
}
