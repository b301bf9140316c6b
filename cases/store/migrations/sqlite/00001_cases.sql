-- +goose Up
-- Users, tokens, agencies, cases and the audit log: the case store of issue 2.
-- Times are stored in UTC; every table a person can change is audited.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT TRUE,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TIMESTAMP,
    created_at           TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    revoked_at   TIMESTAMP
);

CREATE TABLE agencies (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    country          TEXT NOT NULL,
    verified_domains TEXT NOT NULL DEFAULT '[]',
    UNIQUE (name, country)
);

CREATE TABLE cases (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    agency_country TEXT NOT NULL,
    process_type   TEXT NOT NULL,
    reference      TEXT NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    due_at         TIMESTAMP,
    target_count   INTEGER NOT NULL,
    request_json   TEXT NOT NULL,
    decision_json  TEXT,
    outcome        TEXT NOT NULL DEFAULT '',
    policy_version TEXT NOT NULL DEFAULT '',
    review_json    TEXT,
    produced       BOOLEAN NOT NULL DEFAULT FALSE,
    assignee       TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    closed_at      TIMESTAMP
);
-- Lists page newest first by id within a filter (keyset pagination).
CREATE INDEX cases_status_id   ON cases (status, id);
CREATE INDEX cases_country_id  ON cases (agency_country, id);
CREATE INDEX cases_process_id  ON cases (process_type, id);
CREATE INDEX cases_due         ON cases (due_at);
CREATE INDEX cases_received    ON cases (received_at, agency_country);
CREATE INDEX cases_assignee_id ON cases (assignee, id);
CREATE INDEX cases_reference   ON cases (reference);

-- Free-text search looks terms up by prefix (case number, reference,
-- targets, agency, requester), so it stays indexed at a million cases.
CREATE TABLE case_terms (
    term    TEXT NOT NULL,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    PRIMARY KEY (term, case_id)
);

CREATE TABLE case_targets (
    case_id  INTEGER NOT NULL REFERENCES cases(id),
    position INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (case_id, position)
);
CREATE INDEX case_targets_value ON case_targets (value);

CREATE TABLE case_documents (
    case_id     INTEGER PRIMARY KEY REFERENCES cases(id),
    filename    TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    content     BLOB NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TIMESTAMP NOT NULL
);

CREATE TABLE case_notes (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id, id);

CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, seq);

-- The head records the newest event, so deleting the newest rows is detected
-- and so that appends serialize on one row.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The log is append-only for the application; the hash chain catches anyone
-- who drops these triggers and edits rows anyway.
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE case_notes;
DROP TABLE case_documents;
DROP TABLE case_targets;
DROP TABLE case_terms;
DROP TABLE cases;
DROP TABLE agencies;
DROP TABLE api_tokens;
DROP TABLE users;
