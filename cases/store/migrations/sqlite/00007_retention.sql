-- +goose Up
-- Retention and legal holds (issue 8, package cases/retention; see
-- docs/retention.md).

-- A legal hold stops every purge of its case (retention and the expiry of
-- a preservation) until it is released. Released holds stay, as the record
-- of when the case was held and why.
CREATE TABLE legal_holds (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    reason         TEXT NOT NULL,
    placed_by      TEXT NOT NULL,
    placed_at      TIMESTAMP NOT NULL,
    release_reason TEXT NOT NULL DEFAULT '',
    released_by    TEXT NOT NULL DEFAULT '',
    released_at    TIMESTAMP
);
-- A case has at most one active hold.
CREATE UNIQUE INDEX legal_holds_active ON legal_holds (case_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_case ON legal_holds (case_id, id);

-- When the retention purge removed a closed case's sensitive data; the
-- row itself stays for the transparency report.
ALTER TABLE cases ADD COLUMN purged_at TIMESTAMP;

-- The retention purge deletes collected pairs that a package covers, by
-- ID: packages.last_pair_id is the production cursor. A plain SQLite
-- rowid table hands out MAX(id) + 1, so after the newest pairs were
-- purged a new pair could get an ID at or below a package's cursor and
-- never be produced. AUTOINCREMENT never reuses an ID. (PostgreSQL's
-- identity sequence never did.) The table is rebuilt to get it.
CREATE TABLE collected_pairs_autoinc (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    at           TIMESTAMP NOT NULL,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    collected_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, at, from_account, to_account, kind)
);
INSERT INTO collected_pairs_autoinc (id, case_id, at, from_account, to_account, kind, collected_at)
    SELECT id, case_id, at, from_account, to_account, kind, collected_at FROM collected_pairs ORDER BY id;
DROP TABLE collected_pairs;
ALTER TABLE collected_pairs_autoinc RENAME TO collected_pairs;

-- +goose Down
-- collected_pairs keeps AUTOINCREMENT: it is harmless to the older code.
ALTER TABLE cases DROP COLUMN purged_at;
DROP TABLE legal_holds;
