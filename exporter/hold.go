package exporter

import (
	"context"
	"strconv"
	"time"

	"envelope/cases"
	"envelope/policy/clock"
)

// clockHold refuses to produce a case its clocks hold back: an EU
// production order notified to the enforcing state, inside its 10 days
// (ECONFLICT naming the date it lifts), or one the enforcing authority
// raised a ground for refusal against (ECONFLICT, for good). The clock is
// the database's, so a test fixes it.
func (e *Exporter) clockHold(ctx context.Context, c *cases.Case) error {
	rules := e.clocks.Load()
	if rules == nil {
		rules = clock.Default()
	}
	evs, err := e.DB.Events(ctx, "case", strconv.FormatInt(c.ID, 10))
	if err != nil {
		return err
	}
	zone, err := e.DB.OrgZone(ctx)
	if err != nil {
		return err
	}
	k := *c
	rules.ForCase(&k, evs, zone)
	until, why, held := clock.HoldsProduction(k.Clocks, e.DB.Now())
	switch {
	case !held:
		return nil
	case until == nil:
		return cases.Errorf(cases.ECONFLICT, "case %s may not be produced: %s", c.Number, why)
	}
	return cases.Errorf(cases.ECONFLICT, "case %s may not be produced before %s, when the enforcing state's window ends (%s)",
		c.Number, until.UTC().Format(time.RFC3339), why)
}
