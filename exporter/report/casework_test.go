package report_test

import (
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// A production that found no records is counted as a request with no data
// produced; one with records as some data.
func TestNoDataCountsAsNoData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b, err := os.ReadFile("../../testdata/requests/subpoena.json")
		if err != nil {
			t.Fatal(err)
		}
		for _, records := range []int64{0, 3} {
			req, err := cases.ParseRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			c, err := db.CreateCase(ctx, "test", store.NewCase{Request: req, Status: cases.StatusApproved})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Tx(ctx, func(tx *sqlx.Tx) error { return db.RecordProduction(ctx, tx, "test", c, records) }); err != nil {
				t.Fatal(err)
			}
		}
		r := generate(t, db, "2026-Q3", time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC))
		us := row(t, r, "US")
		checkCounts(t, "US legal process", us.LegalProcess, 2, us.LegalProcess.Accounts, 1, "50.00")
	})
}
