-- +goose Up
-- The platform metadata store, prospective collection and preservation of
-- issue 4 (cases/metadata). One table per record kind, keyed so that
-- importing the same record twice stores it once; none has a column that
-- could hold message content.

CREATE TABLE meta_subscribers (
    id              INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    created_at      TIMESTAMP,
    last_seen_at    TIMESTAMP,
    registration_ip TEXT NOT NULL,
    last_ip         TEXT NOT NULL,
    imported_at     TIMESTAMP NOT NULL,
    UNIQUE (account)
);

CREATE TABLE meta_ip_sessions (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    ip          TEXT NOT NULL,
    port        INTEGER NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    UNIQUE (account, at, ip, port)
);

CREATE TABLE meta_devices (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    os          TEXT NOT NULL,
    os_version  TEXT NOT NULL,
    app_version TEXT NOT NULL,
    model       TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    UNIQUE (account, device_id)
);
CREATE INDEX meta_devices_time ON meta_devices (account, imported_at);

CREATE TABLE meta_profiles (
    id           INTEGER PRIMARY KEY,
    account      TEXT NOT NULL,
    about        TEXT NOT NULL,
    language     TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    photo_sha256 TEXT NOT NULL,
    imported_at  TIMESTAMP NOT NULL,
    UNIQUE (account)
);

CREATE TABLE meta_group_memberships (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    group_name  TEXT NOT NULL,
    members     INTEGER NOT NULL,
    role        TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    UNIQUE (account, group_id)
);
CREATE INDEX meta_group_memberships_group ON meta_group_memberships (group_id);

CREATE TABLE meta_linked_accounts (
    id              INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    service         TEXT NOT NULL,
    service_account TEXT NOT NULL,
    imported_at     TIMESTAMP NOT NULL,
    UNIQUE (account, service, service_account)
);

CREATE TABLE meta_enforcements (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    action      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    UNIQUE (account, at, action)
);

CREATE TABLE meta_contacts (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    contact     TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    UNIQUE (account, contact)
);
-- "Users who have the account in their address book" reads this way round.
CREATE INDEX meta_contacts_contact ON meta_contacts (contact);

CREATE TABLE meta_messages (
    id           INTEGER PRIMARY KEY,
    account      TEXT NOT NULL,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    at           TIMESTAMP NOT NULL,
    message_kind TEXT NOT NULL,
    imported_at  TIMESTAMP NOT NULL,
    UNIQUE (account, at, from_account, to_account, message_kind)
);

-- A collection window: one target of one approved prospective order, for
-- one category. ends_at is closes_at (the authorised end) until an early
-- close sets it to the time of the close.
CREATE TABLE collection_windows (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    category     TEXT NOT NULL,
    target       TEXT NOT NULL,
    opens_at     TIMESTAMP NOT NULL,
    closes_at    TIMESTAMP NOT NULL,
    ends_at      TIMESTAMP NOT NULL,
    opened_by    TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    closed_at    TIMESTAMP,
    closed_by    TEXT NOT NULL DEFAULT '',
    UNIQUE (case_id, category, target)
);
CREATE INDEX collection_windows_ends ON collection_windows (category, ends_at);

-- Bumped in every transaction that changes a window, so collectors notice
-- (and, reading it under a lock, serialize with the change).
CREATE TABLE collection_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO collection_state (id, version) VALUES (1, 0);

-- Kept events, one row per case they were kept for. The key makes a
-- re-sent batch harmless.
CREATE TABLE collected_pairs (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    at           TIMESTAMP NOT NULL,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    collected_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, at, from_account, to_account, kind)
);

CREATE TABLE preservations (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL UNIQUE REFERENCES cases(id),
    preserve_until TIMESTAMP NOT NULL,
    records        INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    extended_by    TEXT NOT NULL DEFAULT '',
    extended_at    TIMESTAMP,
    purged_at      TIMESTAMP
);
CREATE INDEX preservations_due ON preservations (preserve_until);

-- The frozen copies: each record as the JSON of its typed struct, so no
-- field outside the record kinds can be in one.
CREATE TABLE preserved_records (
    id              INTEGER PRIMARY KEY,
    preservation_id INTEGER NOT NULL REFERENCES preservations(id),
    kind            TEXT NOT NULL,
    account         TEXT NOT NULL,
    record_json     TEXT NOT NULL
);
CREATE INDEX preserved_records_preservation ON preserved_records (preservation_id, id);

-- +goose Down
DROP TABLE preserved_records;
DROP TABLE preservations;
DROP TABLE collected_pairs;
DROP TABLE collection_state;
DROP TABLE collection_windows;
DROP TABLE meta_messages;
DROP TABLE meta_contacts;
DROP TABLE meta_enforcements;
DROP TABLE meta_linked_accounts;
DROP TABLE meta_group_memberships;
DROP TABLE meta_profiles;
DROP TABLE meta_devices;
DROP TABLE meta_ip_sessions;
DROP TABLE meta_subscribers;
