package store

import "context"

// ActivateClockRules records a clock rules file (policy/clock: its version
// and source) as the one in force from now on, audited as clock.activate
// with the version it replaces. As for policies, the caller has loaded
// and checked it: the store does not parse it.
func (db *DB) ActivateClockRules(ctx context.Context, actor, version string, source []byte, previous string) error {
	return db.activateSource(ctx, "clock_rules", "clock.activate", "clock_rules", actor, version, source, previous)
}

// ActiveClockRules returns the source of the clock rules activated last, or
// ok false if none ever were (the embedded default is then in force).
func (db *DB) ActiveClockRules(ctx context.Context) (source []byte, ok bool, err error) {
	return db.lastSource(ctx, "clock_rules")
}
