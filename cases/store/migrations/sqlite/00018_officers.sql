-- +goose Up
-- The agency portal (issue 14, web/agency): officers of a directory agency
-- who sign in with a password and a TOTP code. An officer is active once
-- verified_at is set (the emailed link) and may do nothing but enrol TOTP
-- until totp_enrolled_at is set. Lockout is counted in failed_logins and
-- locked_until by a single UPDATE, so parallel guesses cannot overtake it.
CREATE TABLE officers (
    id               INTEGER PRIMARY KEY,
    agency_id        INTEGER NOT NULL REFERENCES agencies(id),
    email            TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    phone            TEXT NOT NULL DEFAULT '',
    password_hash    TEXT NOT NULL,
    verified_at      TIMESTAMP,
    totp_secret      TEXT NOT NULL DEFAULT '',
    totp_enrolled_at TIMESTAMP,
    totp_last_step   INTEGER NOT NULL DEFAULT 0,
    failed_logins    INTEGER NOT NULL DEFAULT 0,
    locked_until     TIMESTAMP,
    suspended        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX officers_agency ON officers (agency_id);

-- One-time links (email verification); only the SHA-256 of the token is kept.
CREATE TABLE officer_tokens (
    token_hash  TEXT PRIMARY KEY,
    officer_id  INTEGER NOT NULL REFERENCES officers(id),
    purpose     TEXT NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    created_at  TIMESTAMP NOT NULL
);

-- Agency portal sessions, apart from staff sessions: an agency session ID
-- is never a staff session ID. mfa is false until the second factor passed.
CREATE TABLE officer_sessions (
    token_hash  TEXT PRIMARY KEY,
    officer_id  INTEGER NOT NULL REFERENCES officers(id),
    mfa         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);

-- Cases an officer submitted (source agency): whose they are and which
-- agency sees them.
CREATE TABLE agency_submissions (
    case_id     INTEGER PRIMARY KEY REFERENCES cases(id),
    officer_id  INTEGER NOT NULL REFERENCES officers(id),
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX agency_submissions_officer ON agency_submissions (officer_id, case_id);

-- Colleagues of the same agency the submitter lets follow a case (up to
-- five, as Google's LERS allows).
CREATE TABLE case_followers (
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    officer_id  INTEGER NOT NULL REFERENCES officers(id),
    added_by    INTEGER NOT NULL REFERENCES officers(id),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, officer_id)
);
CREATE INDEX case_followers_officer ON case_followers (officer_id, case_id);

-- Every download of a package by an officer, and the officer's receipt.
CREATE TABLE package_downloads (
    id          INTEGER PRIMARY KEY,
    package_id  INTEGER NOT NULL REFERENCES packages(id),
    officer_id  INTEGER NOT NULL REFERENCES officers(id),
    sha256      TEXT NOT NULL,
    at          TIMESTAMP NOT NULL
);
CREATE INDEX package_downloads_package ON package_downloads (package_id);
CREATE TABLE package_receipts (
    package_id  INTEGER PRIMARY KEY REFERENCES packages(id),
    officer_id  INTEGER NOT NULL REFERENCES officers(id),
    at          TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE package_receipts;
DROP TABLE package_downloads;
DROP TABLE case_followers;
DROP TABLE agency_submissions;
DROP TABLE officer_sessions;
DROP TABLE officer_tokens;
DROP TABLE officers;
