-- +goose Up
-- Deadline lists (the dashboard's overdue and due-today panels, the case
-- list sorted by due date) read open cases of one status in due-date order:
-- a range scan of this index, where the list by id had to skip every newer
-- case outside the range (see docs/performance.md). id is the tie-breaker
-- of the keyset cursor (SQLite appends the rowid anyway; it is named so the
-- two engines have the same index).
--
-- The index is partial (dated cases only) so that it is never a candidate
-- for a list by status alone: SQLite, holding statistics for the older
-- indexes but none yet for this one, would otherwise walk it and sort by id
-- instead of walking cases_status_id (0.5 s instead of 1 ms a page). The
-- due-date queries say "due_at IS NOT NULL", which lets them use it.
CREATE INDEX cases_status_due_id ON cases (status, due_at, id) WHERE due_at IS NOT NULL;

-- "My queue" is one user's open cases, newest first. With (assignee, id)
-- alone the planner, seeing few distinct assignees (most cases have none),
-- walked every case of the status instead: 300 ms a query at a million
-- cases. Equality on both columns then id order is one index range.
CREATE INDEX cases_assignee_status_id ON cases (assignee, status, id);

-- +goose Down
DROP INDEX cases_assignee_status_id;
DROP INDEX cases_status_due_id;
