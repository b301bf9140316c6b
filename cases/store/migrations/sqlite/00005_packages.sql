-- +goose Up
-- Disclosure packages (issue 5, package exporter). The zip files live in
-- the packages directory, outside the database; a row is written only once
-- its file is in place, in the transaction that audits the production and
-- moves the case to produced. A prospective order has one row per
-- production, numbered from 1; last_pair_id is the newest collected pair
-- the package covers, so the next production starts after it.
CREATE TABLE packages (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    seq           INTEGER NOT NULL,
    file_name     TEXT NOT NULL UNIQUE,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    records       INTEGER NOT NULL,
    last_pair_id  INTEGER NOT NULL DEFAULT 0,
    covered_until TIMESTAMP NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (case_id, seq)
);

-- +goose Down
DROP TABLE packages;
