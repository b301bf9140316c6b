-- +goose Up
-- The portal's case list is usually filtered by two of status, country and
-- process type. With one-column indexes, a list of received cases from GB
-- walked GB's cases newest first and read each row to test its status:
-- about six rows read for each one shown, 1-4 ms a page at a million cases.
-- These serve each pair directly, in id order (docs/performance.md).
-- IF NOT EXISTS: harmless where an operator already added them by hand.
CREATE INDEX IF NOT EXISTS cases_country_status_id ON cases (agency_country, status, id);
CREATE INDEX IF NOT EXISTS cases_process_status_id ON cases (process_type, status, id);
CREATE INDEX IF NOT EXISTS cases_country_process_id ON cases (agency_country, process_type, id);

-- The dashboard's "collection closing soon" reads windows by end time
-- across categories; collection_windows_ends leads with the category.
CREATE INDEX IF NOT EXISTS collection_windows_ends_at ON collection_windows (ends_at);

-- +goose Down
DROP INDEX collection_windows_ends_at;
DROP INDEX cases_country_process_id;
DROP INDEX cases_process_status_id;
DROP INDEX cases_country_status_id;
