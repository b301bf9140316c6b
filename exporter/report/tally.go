package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// Counts are the requests of one class in one row, the accounts (targets)
// they named, and how many of them had some data produced.
type Counts struct {
	Requests int64
	Accounts int64
	Produced int64
}

// Percent is the share of requests with some data produced.
func (c Counts) Percent() Percent { return PercentOf(c.Produced, c.Requests) }

func (c Counts) plus(o Counts) Counts {
	return Counts{c.Requests + o.Requests, c.Accounts + o.Accounts, c.Produced + o.Produced}
}

// Row is one line of the report: a requesting country's requests in the
// period. The totals row has no country.
type Row struct {
	Country string
	// Total is LegalProcess plus Emergency; preservation is not in it.
	Total        Counts
	LegalProcess Counts
	Emergency    Counts
	// Preservation requests disclose nothing: Produced is always 0.
	Preservation Counts
	// ByProcess holds the request count of each of LegalProcessTypes, in
	// that order.
	ByProcess []int64
}

// Process returns the request count of a legal-process type.
func (r *Row) Process(t cases.ProcessType) int64 {
	if i := slices.Index(LegalProcessTypes, t); i >= 0 && i < len(r.ByProcess) {
		return r.ByProcess[i]
	}
	return 0
}

func (r *Row) add(o *Row) {
	r.Total = r.Total.plus(o.Total)
	r.LegalProcess = r.LegalProcess.plus(o.LegalProcess)
	r.Emergency = r.Emergency.plus(o.Emergency)
	r.Preservation = r.Preservation.plus(o.Preservation)
	if r.ByProcess == nil {
		r.ByProcess = make([]int64, len(LegalProcessTypes))
	}
	for i, n := range o.ByProcess {
		r.ByProcess[i] += n
	}
}

// Sum returns the totals row of rows: every count added up, percentages
// recomputed from the sums (never averaged).
func Sum(rows []Row) Row {
	t := Row{ByProcess: make([]int64, len(LegalProcessTypes))}
	for i := range rows {
		t.add(&rows[i])
	}
	return t
}

// aggregateSQL is the aggregate every figure of a row comes from, over the
// cases received in [from, to). With a keyExpr it is one GROUP BY keyed by
// it (the country, for the tally); without, one row for the whole period
// (its totals). Its columns are, in order: the key, if any; requests,
// accounts and produced of legal process; the same of emergency; requests
// and accounts of preservation; then the request count of each
// legal-process type. National-security process is left out by the WHERE
// clause, so it can never reach a row.
//
// The WHERE clause names what it leaves out (NOT IN) rather than what it
// keeps: SQLite (with or without ANALYZE statistics) would otherwise pick
// the index on process_type for an IN list that matches nearly every case
// and visit the whole table, where the index on received_at visits only the
// period: 590 ms instead of 140 ms for a quarter of the benchmark.
func aggregateSQL(keyExpr string) string {
	legal := "process_type IN " + sqlList(LegalProcessTypes)
	emergency := "process_type = " + sqlString(string(cases.Emergency))
	preservation := "process_type IN " + sqlList(PreservationTypes)
	var cols []string
	if keyExpr != "" {
		cols = append(cols, keyExpr+" AS k")
	}
	cols = append(cols,
		sumIf(legal, "1"), sumIf(legal, "target_count"), sumIf(legal, someDataSQL),
		sumIf(emergency, "1"), sumIf(emergency, "target_count"), sumIf(emergency, someDataSQL),
		sumIf(preservation, "1"), sumIf(preservation, "target_count"))
	for _, t := range LegalProcessTypes {
		cols = append(cols, sumIf("process_type = "+sqlString(string(t)), "1"))
	}
	q := "SELECT " + strings.Join(cols, ",\n       ") + "\nFROM cases\nWHERE " + countedWhere()
	if keyExpr != "" {
		q += "\nGROUP BY " + keyExpr
	}
	return q
}

// TallySQL is the tally's query, with placeholders for the period's start
// and end. The benchmark runs the same text through the sqlite3 CLI.
func TallySQL() string { return aggregateSQL("agency_country") }

// queryRows runs an aggregateSQL query for period p and returns its rows.
// With keyed set, each row's Country is its key.
func queryRows(ctx context.Context, db *store.DB, query string, keyed bool, p Period) ([]Row, error) {
	r := db.Reader()
	rows, err := r.QueryContext(ctx, r.Rebind(query), p.Start(), p.End())
	if err != nil {
		return nil, fmt.Errorf("tally %s: %w", p, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		row := Row{ByProcess: make([]int64, len(LegalProcessTypes))}
		var dest []any
		if keyed {
			dest = append(dest, &row.Country)
		}
		dest = append(dest,
			&row.LegalProcess.Requests, &row.LegalProcess.Accounts, &row.LegalProcess.Produced,
			&row.Emergency.Requests, &row.Emergency.Accounts, &row.Emergency.Produced,
			&row.Preservation.Requests, &row.Preservation.Accounts)
		for i := range row.ByProcess {
			dest = append(dest, &row.ByProcess[i])
		}
		// Without a GROUP BY an empty period gives one row of NULL sums.
		nulls := make([]sql.NullInt64, len(dest))
		scan := make([]any, len(dest))
		for i := range dest {
			scan[i] = &nulls[i]
			if keyed && i == 0 {
				scan[i] = dest[0]
			}
		}
		if err := rows.Scan(scan...); err != nil {
			return nil, fmt.Errorf("tally %s: %w", p, err)
		}
		for i, n := range nulls {
			if ptr, ok := dest[i].(*int64); ok {
				*ptr = n.Int64
			}
		}
		row.Total = row.LegalProcess.plus(row.Emergency)
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tally %s: %w", p, err)
	}
	return out, nil
}

// Tally counts the requests received in period p, one row per requesting
// country that sent any (national-security process aside), sorted by
// country code. The counting is done by the database in one GROUP BY.
func Tally(ctx context.Context, db *store.DB, p Period) ([]Row, error) {
	rows, err := queryRows(ctx, db, TallySQL(), true, p)
	if err != nil {
		return nil, err
	}
	// Sorted here rather than by ORDER BY: PostgreSQL would order by its
	// collation, and the report promises plain code order on both engines.
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.Country, b.Country) })
	return rows, nil
}

// Totals returns the totals row of period p, which equals Sum(Tally(p)). It
// is one aggregate with no GROUP BY, so the database streams the period's
// cases through it without sorting them.
func Totals(ctx context.Context, db *store.DB, p Period) (Row, error) {
	rows, err := queryRows(ctx, db, aggregateSQL(""), false, p)
	if err != nil {
		return Row{}, err
	}
	if len(rows) == 0 {
		return Sum(nil), nil
	}
	return rows[0], nil
}

// PeriodTotals is one period's totals row, for the trend and comparisons.
type PeriodTotals struct {
	Period Period
	Totals Row
}

// Trend returns the totals of the n periods ending with p, oldest first,
// one Totals query per period. On the 1,000,000-case benchmark that is
// faster than one GROUP BY over a computed period, which SQLite must sort.
func Trend(ctx context.Context, db *store.DB, p Period, n int) ([]PeriodTotals, error) {
	periods := p.Last(max(n, 0))
	out := make([]PeriodTotals, len(periods))
	for i, q := range periods {
		t, err := Totals(ctx, db, q)
		if err != nil {
			return nil, err
		}
		out[i] = PeriodTotals{Period: q, Totals: t}
	}
	return out, nil
}

// parallel runs fns concurrently and returns their errors joined. Callers
// keep to two at a time: database/sql keeps two idle connections per pool,
// and more would open (and close) a connection per query.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// BandSize is the width of the bands national-security figures are
// published in.
const BandSize = 500

// NationalSecurityDelay is how long after a period ends its national-security
// figures may be published.
const NationalSecurityDelay = 180 * 24 * time.Hour

// Pending is what the national-security table shows before the delay.
const Pending = "pending"

// NationalSecurity is the table of national-security process: bands only,
// and only once the period ended at least NationalSecurityDelay before the
// report was generated. Exact counts are never kept in it.
type NationalSecurity struct {
	Country       string     `json:"country"`
	Status        string     `json:"status"` // "published" or "pending"
	PublishableAt time.Time  `json:"publishable_at"`
	BandSize      int        `json:"band_size"`
	Rows          []BandsRow `json:"rows"`
}

// BandsRow holds the bands of one kind of national-security process.
type BandsRow struct {
	Process  cases.ProcessType `json:"process"`
	Requests string            `json:"requests"`
	Accounts string            `json:"accounts"`
	// The bands as numbers; nil while pending.
	RequestsMin *int64 `json:"requests_min"`
	RequestsMax *int64 `json:"requests_max"`
	AccountsMin *int64 `json:"accounts_min"`
	AccountsMax *int64 `json:"accounts_max"`
}

// numbers fills the numeric bands of requests and accounts.
func (b *BandsRow) numbers(requests, accounts int64) {
	rlo, rhi := BandOf(requests, BandSize)
	alo, ahi := BandOf(accounts, BandSize)
	b.RequestsMin, b.RequestsMax, b.AccountsMin, b.AccountsMax = &rlo, &rhi, &alo, &ahi
}

// NationalSecurityTable returns the national-security table of period p as
// of the generation time at. Before the delay has passed the database is
// not even asked: pending figures cannot leak through a bug in rendering.
func NationalSecurityTable(ctx context.Context, db *store.DB, p Period, at time.Time) (NationalSecurity, error) {
	ns := NationalSecurity{Country: "US", Status: "published", PublishableAt: p.End().Add(NationalSecurityDelay), BandSize: BandSize}
	if at.Before(ns.PublishableAt) {
		ns.Status = Pending
		for _, t := range NationalSecurityTypes {
			ns.Rows = append(ns.Rows, BandsRow{Process: t, Requests: Pending, Accounts: Pending})
		}
		return ns, nil
	}
	// Every nsl and fisa case is counted, whatever agency country was
	// logged: the policy admits them from the US only, and a mislogged one
	// must still be counted somewhere rather than vanish.
	counts, err := nationalSecurityCounts(ctx, db, p)
	if err != nil {
		return ns, err
	}
	for _, t := range NationalSecurityTypes {
		c := counts[t]
		row := BandsRow{Process: t, Requests: Band(c[0]), Accounts: Band(c[1])}
		row.numbers(c[0], c[1])
		ns.Rows = append(ns.Rows, row)
	}
	return ns, nil
}
