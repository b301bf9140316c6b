-- +goose Up
-- The agency directory as the only source of trust (issue 12, see
-- docs/security.md). An entry is listed only when an admin added it, with
-- its aliases, email domains, callback number and who verified it when.
-- Rows that are not listed only name the agency of logged cases: intake,
-- import and requests never make or change a listed entry. Rows from before
-- this migration were written by intake from what requests claimed, so none
-- is listed: an admin lists each again (`envelope agency add`).
ALTER TABLE agencies ADD COLUMN listed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE agencies ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agencies ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE agencies ADD COLUMN verified_by TEXT NOT NULL DEFAULT '';
ALTER TABLE agencies ADD COLUMN verified_at TIMESTAMP;
-- Counts the changes of an entry, so a kept copy of the directory can tell
-- it is stale (store.loadDirectory).
ALTER TABLE agencies ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

-- Out-of-band checks of a case's requester: a callback to the directory's
-- number, with its outcome.
CREATE TABLE case_verifications (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    method      TEXT NOT NULL,
    phone       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX case_verifications_case ON case_verifications (case_id, id);

-- Intake checks a request's receipt against the agency's first one.
CREATE INDEX cases_agency_received ON cases (agency_id, received_at);

-- +goose Down
DROP INDEX cases_agency_received;
DROP TABLE case_verifications;
ALTER TABLE agencies DROP COLUMN revision;
ALTER TABLE agencies DROP COLUMN verified_at;
ALTER TABLE agencies DROP COLUMN verified_by;
ALTER TABLE agencies DROP COLUMN phone;
ALTER TABLE agencies DROP COLUMN aliases;
ALTER TABLE agencies DROP COLUMN listed;
