-- +goose Up
-- The case work of a legal team (issue 16, cases/casework.go): how a case
-- ended (result: some_data, no_data, refused, challenged, withdrawn, with
-- a reason code) and the reviewer's shaping of the decision (shape_json:
-- narrowed categories and window, per-target decisions).
ALTER TABLE cases ADD COLUMN result TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN result_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN shape_json TEXT;

-- Nondisclosure orders: several per case, each from its court; expires_at
-- NULL stands until lifted. An extension moves expires_at (the audit log
-- keeps each one) and counts in extensions.
CREATE TABLE case_ndos (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    court       TEXT NOT NULL,
    reference   TEXT NOT NULL DEFAULT '',
    expires_at  TIMESTAMP,
    extensions  INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX case_ndos_case ON case_ndos (case_id, id);
-- The dashboard's reminder reads orders lapsing in a range of days.
CREATE INDEX case_ndos_expires ON case_ndos (expires_at);

-- The user notice of a case: sent (how), or an exception (why not). One
-- per case; recording it releases a production held for notice.
CREATE TABLE case_notices (
    case_id     INTEGER PRIMARY KEY REFERENCES cases(id),
    kind        TEXT NOT NULL,
    method      TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    at          TIMESTAMP NOT NULL,
    recorded_by TEXT NOT NULL
);

-- Documents of a case besides its current legal-process document: the
-- amendments, extensions and correspondence, and every process document
-- an upload superseded (kept, with when and by whom): nothing is replaced.
CREATE TABLE case_attachments (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    kind          TEXT NOT NULL,
    filename      TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    content       BLOB NOT NULL,
    uploaded_by   TEXT NOT NULL,
    uploaded_at   TIMESTAMP NOT NULL,
    superseded_at TIMESTAMP,
    superseded_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_attachments_case ON case_attachments (case_id, id);

-- +goose Down
DROP TABLE case_attachments;
DROP TABLE case_notices;
DROP TABLE case_ndos;
ALTER TABLE cases DROP COLUMN shape_json;
ALTER TABLE cases DROP COLUMN result_reason;
ALTER TABLE cases DROP COLUMN result;
