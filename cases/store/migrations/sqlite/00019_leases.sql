-- +goose Up
-- Scheduler leases (issue 18): one row per scheduled job while an instance
-- runs it, so that of several instances sharing the database exactly one
-- runs each job at a time. SQLite uses this table; PostgreSQL takes a
-- session advisory lock instead (released by the server if the instance
-- dies), and keeps the table only so both schemas stay the same.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE leases;
