-- +goose Up
-- Organisation settings (issue 15): one row per setting, changed by an
-- administrator and audited. time_zone is the organisation's IANA zone, in
-- which a date typed without a time is read and the portal shows times.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE settings;
