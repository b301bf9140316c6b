package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// ExplainedCase is one case behind a country row, with what it contributed.
type ExplainedCase struct {
	Number      string            `json:"number" db:"number"`
	ProcessType cases.ProcessType `json:"process_type" db:"process_type"`
	ReceivedAt  time.Time         `json:"received_at" db:"received_at"`
	Targets     int64             `json:"targets" db:"target_count"`
	// Produced is whether the case counts as "some data produced", by the
	// same expression the tally uses.
	Produced bool         `json:"produced" db:"produced"`
	Status   cases.Status `json:"status" db:"status"`
	// CountedIn is the part of the row the case counts in.
	CountedIn Class `json:"counted_in" db:"-"`
}

// Explain lists the cases behind country's row of period p, oldest first:
// exactly the cases the tally counted for it. National-security cases are
// never listed: they are published only in bands.
func Explain(ctx context.Context, db *store.DB, p Period, country string) ([]ExplainedCase, error) {
	country = strings.ToUpper(strings.TrimSpace(country))
	if msg := cases.ValidCountry(country); msg != "" {
		return nil, cases.Invalid(map[string]string{"country": msg})
	}
	r := db.Reader()
	var rows []struct {
		ExplainedCase
		SomeData int64 `db:"some_data"`
	}
	err := r.SelectContext(ctx, &rows, r.Rebind(`SELECT number, process_type, received_at, target_count, status,
		`+someDataSQL+` AS some_data
		FROM cases
		WHERE `+countedWhere()+` AND agency_country = ?
		ORDER BY received_at, id`), p.Start(), p.End(), country)
	if err != nil {
		return nil, fmt.Errorf("explain %s %s: %w", p, country, err)
	}
	out := make([]ExplainedCase, len(rows))
	for i, row := range rows {
		c := row.ExplainedCase
		c.ReceivedAt = c.ReceivedAt.UTC()
		c.Produced = row.SomeData == 1
		c.CountedIn = ClassOf(c.ProcessType)
		out[i] = c
	}
	return out, nil
}

// ExplainRow adds up explained cases into the row they stand behind, so a
// reader (and the tests) can check the listing against the report.
func ExplainRow(country string, list []ExplainedCase) Row {
	row := Sum(nil)
	row.Country = country
	for _, c := range list {
		n := Counts{Requests: 1, Accounts: c.Targets}
		if c.Produced {
			n.Produced = 1
		}
		switch c.CountedIn {
		case ClassLegalProcess:
			row.LegalProcess = row.LegalProcess.plus(n)
			for i, t := range LegalProcessTypes {
				if t == c.ProcessType {
					row.ByProcess[i]++
				}
			}
		case ClassEmergency:
			row.Emergency = row.Emergency.plus(n)
		case ClassPreservation:
			n.Produced = 0
			row.Preservation = row.Preservation.plus(n)
		}
	}
	row.Total = row.LegalProcess.plus(row.Emergency)
	return row
}
