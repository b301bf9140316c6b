-- +goose Up
-- Per-user time zones (issue 15): a user may show the portal in their own
-- IANA zone; '' means the organisation's (the settings row time_zone).
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

-- Clock rules activated through the API (policy/clock), kept like the
-- policies: the last row is in force, so an activation survives restarts.
CREATE TABLE clock_rules (
    id           INTEGER PRIMARY KEY,
    version      TEXT NOT NULL,
    source       TEXT NOT NULL,
    activated_by TEXT NOT NULL,
    activated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE clock_rules;
ALTER TABLE users DROP COLUMN time_zone;
