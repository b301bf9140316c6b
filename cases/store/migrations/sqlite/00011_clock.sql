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

-- Deadline alerts (cases/remind): one per case and kind, raised when a
-- deadline is at risk, escalated to the supervisors if the case is still
-- untouched; shown on the dashboard until the case is answered.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    case_id       BIGINT NOT NULL, -- no foreign key: a retention purge of the case must not be blocked
    kind          TEXT NOT NULL,
    due_at        TIMESTAMP NOT NULL,
    reason        TEXT NOT NULL,
    raised_at     TIMESTAMP NOT NULL,
    escalated_at  TIMESTAMP,
    escalated_to  TEXT NOT NULL DEFAULT '',
    UNIQUE (case_id, kind)
);

-- Outbound webhooks (cases/remind): every delivery and its attempts.
CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY,
    event         TEXT NOT NULL,
    case_id       BIGINT,
    url           TEXT NOT NULL,
    payload       TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    status_code   INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    delivered_at  TIMESTAMP
);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE alerts;
DROP TABLE settings;
