package report

import (
	"fmt"
	"slices"
	"strings"

	"envelope/cases"
)

// The counting rules of issue 6, stated once: the SQL of the tally and of
// Explain is built from these lists, so the report, its CSV columns and the
// cases listed behind a row cannot disagree about what counts where.

// LegalProcessTypes are the process types counted as legal-process requests:
// every type but emergency, preservation and the national-security ones, in
// the order of cases.ProcessTypes (which is also the CSV column order).
var LegalProcessTypes = legalProcessTypes()

// PreservationTypes are counted as preservation requests: a US preservation
// request and an EU preservation order (EPOC-PR) alike disclose nothing.
var PreservationTypes = []cases.ProcessType{cases.Preservation, cases.EUPreservationOrder}

// NationalSecurityTypes are reported only in bands, never in country rows.
var NationalSecurityTypes = []cases.ProcessType{cases.NSL, cases.FISA}

func legalProcessTypes() []cases.ProcessType {
	var out []cases.ProcessType
	for _, t := range cases.ProcessTypes {
		if t != cases.Emergency && !slices.Contains(PreservationTypes, t) && !slices.Contains(NationalSecurityTypes, t) {
			out = append(out, t)
		}
	}
	return out
}

// Class is the part of a country row a request counts in.
type Class string

// Classes of request.
const (
	ClassLegalProcess     Class = "legal_process"
	ClassEmergency        Class = "emergency"
	ClassPreservation     Class = "preservation"
	ClassNationalSecurity Class = "national_security"
)

// ClassOf returns the class a process type counts in, "" for an unknown one.
func ClassOf(t cases.ProcessType) Class {
	switch {
	case t == cases.Emergency:
		return ClassEmergency
	case slices.Contains(PreservationTypes, t):
		return ClassPreservation
	case slices.Contains(NationalSecurityTypes, t):
		return ClassNationalSecurity
	case slices.Contains(LegalProcessTypes, t):
		return ClassLegalProcess
	}
	return ""
}

// someDataSQL is 1 when some data was produced for a case, else 0. A case
// counts as produced when its produced flag is set (by a produced package,
// or imported with the legacy tracker's history) or its status says so; a
// rejected request never does, whatever an imported flag claims, because the
// rules count rejected requests as requests with nothing produced. A case
// with a result (cases.Result) counts by it: a production that found no
// records is no_data, not "some data produced".
const someDataSQL = "CASE WHEN status = 'rejected' THEN 0 WHEN result = 'some_data' THEN 1 WHEN result <> '' THEN 0 " +
	"WHEN produced OR status = 'produced' THEN 1 ELSE 0 END"

// sqlList renders process types as a SQL IN list. They come from the closed
// vocabulary of cases.ProcessTypes, never from input, and are quoted anyway.
func sqlList(types []cases.ProcessType) string {
	q := make([]string, len(types))
	for i, t := range types {
		q[i] = sqlString(string(t))
	}
	return "(" + strings.Join(q, ", ") + ")"
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// countedWhere selects the cases a period's rows count, with placeholders
// for the period's start and end: every case received in the period but
// national-security process. The tally and Explain share it, so a row and
// the cases listed behind it are the same set.
func countedWhere() string {
	return "received_at >= ? AND received_at < ? AND process_type NOT IN " + sqlList(NationalSecurityTypes)
}

// sumIf sums value over the rows of a group where cond holds. The CAST keeps
// the result an integer on PostgreSQL, where SUM(bigint) is numeric.
func sumIf(cond, value string) string {
	return fmt.Sprintf("CAST(SUM(CASE WHEN %s THEN %s ELSE 0 END) AS BIGINT)", cond, value)
}

// Band renders a count as its band of BandSize: 0-499, 500-999, ...
func Band(n int64) string {
	lo := n / BandSize * BandSize
	return fmt.Sprintf("%d-%d", lo, lo+BandSize-1)
}

// Percent is a percentage in hundredths (9500 is 95.00%), kept as an integer
// so that rounding happens once, the same way everywhere.
type Percent int64

// PercentOf returns 100 x part / whole rounded half up to two decimals, and 0
// when whole is 0 (a row with no requests has nothing produced).
func PercentOf(part, whole int64) Percent {
	if whole <= 0 {
		return 0
	}
	return Percent((part*20000 + whole) / (2 * whole))
}

// String formats the percentage with two decimals and no sign: "95.00".
func (p Percent) String() string { return fmt.Sprintf("%d.%02d", p/100, p%100) }

// MarshalJSON writes the percentage as a JSON number with two decimals, so
// JSON and CSV show the same digits.
func (p Percent) MarshalJSON() ([]byte, error) { return []byte(p.String()), nil }

// Change renders the relative change from prev to cur as a whole percentage
// with a sign, e.g. "+276%", "-12%" or "0%"; "n/a" when prev is 0 (no base).
func Change(prev, cur int64) string {
	if prev <= 0 {
		return "n/a"
	}
	d := cur - prev
	abs := d
	if abs < 0 {
		abs = -abs
	}
	pct := (abs*200 + prev) / (2 * prev)
	switch {
	case pct == 0:
		return "0%"
	case d > 0:
		return fmt.Sprintf("+%d%%", pct)
	}
	return fmt.Sprintf("-%d%%", pct)
}
