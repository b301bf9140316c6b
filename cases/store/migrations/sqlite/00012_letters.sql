-- +goose Up
-- The organisation profile (issue 17): one row, the profile as the JSON
-- document cases.Org describes (images base64), and who changed it last.
CREATE TABLE org_profile (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    profile    TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Letters produced for a case (cover letter, certificate, no-records
-- letter, ...): each a signed zip in the packages directory, recorded
-- once its file is in place, numbered per case.
CREATE TABLE letters (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER NOT NULL REFERENCES cases(id),
    seq              INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    template_version TEXT NOT NULL,
    file_name        TEXT NOT NULL UNIQUE,
    sha256           TEXT NOT NULL,
    size             INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (case_id, seq)
);

-- +goose Down
DROP TABLE letters;
DROP TABLE org_profile;
