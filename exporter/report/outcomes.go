package report

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"envelope/cases"
	"envelope/cases/store"
)

// Outcome is how a request ended, as the public reports count it.
type Outcome string

// Outcomes of a request.
const (
	OutcomeRefused  Outcome = "rejected_or_challenged" // refused in full or in part after a challenge
	OutcomeNoData   Outcome = "no_data"                // answered, nothing found (or nothing produced)
	OutcomeSomeData Outcome = "some_data"              // some non-content data produced
	OutcomeOpen     Outcome = "open"                   // not answered yet
)

// Facts are what a case records that its outcome and timing are read
// from.
type Facts struct {
	Country    string
	Process    cases.ProcessType
	Via        cases.Via
	Targets    int64
	Status     cases.Status
	Produced   bool // imported history: produced before envelope
	Packages   int64
	Records    int64 // in all packages
	ReceivedAt time.Time
	LoggedAt   time.Time  // when the platform recorded (acknowledged) receipt
	AnsweredAt *time.Time // first package, or the rejection, or the close
	NDO        bool       // a nondisclosure order was in force when it was received
	EUOrder    bool
}

// Classify returns a case's outcome from what it records today: a
// rejection refuses it; a production with records gives some data, one
// whose packages all held no record gives none, as does a case closed
// without production. This is the one place the outcome is decided: when
// cases carry an explicit result (no_data, refused, challenged), point
// this function at it.
func Classify(f Facts) Outcome {
	switch {
	case f.Status == cases.StatusRejected:
		return OutcomeRefused
	case f.Produced || f.Status == cases.StatusProduced:
		if f.Packages > 0 && f.Records == 0 {
			return OutcomeNoData
		}
		return OutcomeSomeData
	case f.Status == cases.StatusClosed:
		return OutcomeNoData
	}
	return OutcomeOpen
}

// LoadFacts reads the facts of every case counted in period p (national
// security excluded, as in the tally), oldest first.
func LoadFacts(ctx context.Context, db *store.DB, p Period) ([]Facts, error) {
	r := db.Reader()
	var rows []struct {
		ID          int64          `db:"id"`
		Country     string         `db:"agency_country"`
		Process     string         `db:"process_type"`
		Targets     int64          `db:"target_count"`
		Status      string         `db:"status"`
		Produced    bool           `db:"produced"`
		ReceivedAt  time.Time      `db:"received_at"`
		CreatedAt   time.Time      `db:"created_at"`
		ClosedAt    sql.NullTime   `db:"closed_at"`
		ReviewJSON  sql.NullString `db:"review_json"`
		RequestJSON string         `db:"request_json"`
	}
	if err := r.SelectContext(ctx, &rows, r.Rebind(`SELECT id, agency_country, process_type, target_count, status, produced,
		received_at, created_at, closed_at, review_json, request_json FROM cases WHERE `+countedWhere()+` ORDER BY received_at, id`),
		p.Start(), p.End()); err != nil {
		return nil, fmt.Errorf("report facts %s: %w", p, err)
	}
	var pkgs []struct {
		CaseID    int64     `db:"case_id"`
		Records   int64     `db:"records"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := r.SelectContext(ctx, &pkgs, r.Rebind(`SELECT p.case_id, p.records, p.created_at FROM packages p
		JOIN cases c ON c.id = p.case_id WHERE c.received_at >= ? AND c.received_at < ?`), p.Start(), p.End()); err != nil {
		return nil, fmt.Errorf("report packages %s: %w", p, err)
	}
	type pk struct {
		n, records int64
		first      time.Time
	}
	byCase := map[int64]*pk{}
	for _, x := range pkgs {
		e := byCase[x.CaseID]
		if e == nil {
			e = &pk{first: x.CreatedAt}
			byCase[x.CaseID] = e
		}
		e.n++
		e.records += x.Records
		if x.CreatedAt.Before(e.first) {
			e.first = x.CreatedAt
		}
	}
	out := make([]Facts, 0, len(rows))
	for _, c := range rows {
		f := Facts{Country: c.Country, Process: cases.ProcessType(c.Process), Targets: c.Targets, Status: cases.Status(c.Status),
			Produced: c.Produced, ReceivedAt: c.ReceivedAt.UTC(), LoggedAt: c.CreatedAt.UTC()}
		var req cases.Request
		if json.Unmarshal([]byte(c.RequestJSON), &req) == nil {
			f.Via = req.Process.Via
			if u := req.Process.NondisclosureUntil; u != nil && u.After(f.ReceivedAt) {
				f.NDO = true
			}
		}
		f.EUOrder = cases.IsEUMember(f.Country)
		if e := byCase[c.ID]; e != nil {
			f.Packages, f.Records = e.n, e.records
			t := e.first.UTC()
			f.AnsweredAt = &t
		}
		if f.AnsweredAt == nil && c.ReviewJSON.Valid {
			var rv cases.Review
			if json.Unmarshal([]byte(c.ReviewJSON.String), &rv) == nil && rv.Verdict == cases.StatusRejected && !rv.At.IsZero() {
				t := rv.At.UTC()
				f.AnsweredAt = &t
			}
		}
		if f.AnsweredAt == nil && c.ClosedAt.Valid {
			t := c.ClosedAt.Time.UTC()
			f.AnsweredAt = &t
		}
		out = append(out, f)
	}
	return out, nil
}

// OutcomeTally is the outcome and timing figures of a group of requests.
type OutcomeTally struct {
	Requests, Accounts           int64
	Refused, NoData, SomeData    int64
	Open                         int64
	NDO                          int64
	ackHours, answerHours        []float64
	MedianAckHours               *float64
	MedianAnswerHours, P90Answer *float64
}

func (t *OutcomeTally) add(f Facts) {
	t.Requests++
	t.Accounts += f.Targets
	switch Classify(f) {
	case OutcomeRefused:
		t.Refused++
	case OutcomeNoData:
		t.NoData++
	case OutcomeSomeData:
		if f.Process != cases.Preservation { // preservation discloses nothing
			t.SomeData++
		}
	default:
		t.Open++
	}
	if f.NDO {
		t.NDO++
	}
	if !f.LoggedAt.Before(f.ReceivedAt) {
		t.ackHours = append(t.ackHours, f.LoggedAt.Sub(f.ReceivedAt).Hours())
	}
	if f.AnsweredAt != nil && !f.AnsweredAt.Before(f.ReceivedAt) {
		t.answerHours = append(t.answerHours, f.AnsweredAt.Sub(f.ReceivedAt).Hours())
	}
}

// finish computes the medians and the 90th percentile.
func (t *OutcomeTally) finish() {
	t.MedianAckHours = quantile(t.ackHours, 0.5)
	t.MedianAnswerHours = quantile(t.answerHours, 0.5)
	t.P90Answer = quantile(t.answerHours, 0.9)
}

// quantile is the nearest-rank q-quantile of xs, nil when there are none.
func quantile(xs []float64, q float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	v := s[max(i, 0)]
	return &v
}

// PercentSome is the share of requests with some data, as a whole
// percentage (Google's and Meta's precision).
func (t *OutcomeTally) PercentSome() int64 {
	if t.Requests == 0 {
		return 0
	}
	return (t.SomeData*200 + t.Requests) / (2 * t.Requests)
}

// PercentNDO is the share of requests under a nondisclosure order.
func (t *OutcomeTally) PercentNDO() int64 {
	if t.Requests == 0 {
		return 0
	}
	return (t.NDO*200 + t.Requests) / (2 * t.Requests)
}
