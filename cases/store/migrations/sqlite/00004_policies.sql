-- +goose Up
-- Policies activated on a running server, newest last. The newest is the
-- policy in force after a restart; the older ones are the history an
-- auditor reads next to the decisions that cite their versions.
CREATE TABLE policies (
    id           INTEGER PRIMARY KEY,
    version      TEXT NOT NULL,
    source       TEXT NOT NULL,
    activated_by TEXT NOT NULL,
    activated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE policies;
