-- +goose Up
-- Portal sign-in sessions (issue 7). Only the SHA-256 of a session ID is
-- stored, so a copy of the database cannot be used to take over a session.
-- A session ends at expires_at (absolute timeout), after a period without
-- use (idle timeout, from last_seen_at), or when revoked (sign-out,
-- password change).
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
CREATE INDEX sessions_user ON sessions (user_id);

-- +goose Down
DROP TABLE sessions;
