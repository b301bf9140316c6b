package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"envelope/cases"
	"envelope/cases/jobs"
)

// SchedulerActor is who scheduled productions are audited as.
const SchedulerActor = cases.System + ":scheduler"

// dueQuery lists the cases a scheduled pass produces again: approved or
// produced, already produced at least once (the first production is a
// person's act), and holding a pair collected after their newest package.
// The pair test walks the primary key from that package's last pair ID
// (`+case_id` keeps SQLite off the (case_id, at, ...) index, which would
// scan every pair of the case): its cost is the pairs collected since,
// not the case's history. Whether the decision is prospective is checked
// afterwards, in Go, with the rest of Exportable.
const dueQuery = `SELECT c.id FROM cases c JOIN packages p ON p.case_id = c.id
	WHERE c.status IN ('approved', 'produced')
	  AND p.seq = (SELECT MAX(seq) FROM packages q WHERE q.case_id = c.id)
	  AND EXISTS (SELECT 1 FROM collected_pairs cp WHERE cp.id > p.last_pair_id AND +cp.case_id = c.id)
	ORDER BY c.id`

// Due returns the IDs of the cases that have collected pairs not yet in a
// package, among those already produced and still approved or produced.
func (e *Exporter) Due(ctx context.Context) ([]int64, error) {
	r := e.DB.Reader()
	var ids []int64
	if err := r.SelectContext(ctx, &ids, dueQuery); err != nil {
		return nil, fmt.Errorf("find cases due a production: %w", err)
	}
	return ids, nil
}

// ProduceDue runs one scheduled pass: every case Due returns whose
// decision is prospective gets its next package, holding only what is
// new, produced and audited as actor. A case that fails (closed meanwhile,
// produced by someone else at the same moment, a disk error) is logged and
// its error joined to the one returned; the other cases are still
// produced. It returns the packages produced.
func (e *Exporter) ProduceDue(ctx context.Context, actor string) ([]*Package, error) {
	ids, err := e.Due(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Package
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		pkg, err := e.export(ctx, actor, strconv.FormatInt(id, 10), true, false)
		switch {
		case err != nil:
			e.logger().Error("scheduled production failed", "case_id", id, "err", err)
			errs = append(errs, fmt.Errorf("case %d: %w", id, err))
		case pkg != nil:
			e.logger().Info("scheduled production", "case_id", id, "package", pkg.FileName, "records", pkg.Records, "sha256", pkg.SHA256)
			out = append(out, pkg)
		}
	}
	return out, errors.Join(errs...)
}

// RunProducer runs ProduceDue as SchedulerActor every interval (the first
// pass at once) until ctx ends. Errors are logged by ProduceDue; the loop
// goes on.
func (e *Exporter) RunProducer(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// One instance at a time (store.DB.Exclusive): the others skip
		// this run, and find the work done at their next.
		ran, err := e.DB.Exclusive(ctx, "production", func(ctx context.Context) error {
			_, err := e.ProduceDue(ctx, SchedulerActor)
			return err
		})
		if ran {
			jobs.Ran("production", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Exporter) logger() *slog.Logger {
	if e.Builder != nil && e.Builder.Logger != nil {
		return e.Builder.Logger
	}
	return slog.Default()
}
