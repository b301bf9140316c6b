-- +goose Up
-- Strong sign-in (issue 14): a second factor for staff and officers.
--
-- Staff TOTP lives on the user, as the officers' does on officers: a secret
-- offered for enrolment counts only once totp_enrolled_at is set, and
-- totp_last_step refuses a code used before.
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enrolled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- A staff session is signed in with the password alone until
-- second_factor is set. challenge holds the WebAuthn ceremony in progress
-- for this session (one at a time, spent when read), so a challenge is
-- never kept in the browser.
ALTER TABLE sessions ADD COLUMN second_factor BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sessions ADD COLUMN challenge TEXT NOT NULL DEFAULT '';
ALTER TABLE officer_sessions ADD COLUMN challenge TEXT NOT NULL DEFAULT '';

-- Which staff roles must sign in with a second factor. The product's
-- default is on for supervisor and admin; an admin changes it in the
-- portal (Settings), audited.
CREATE TABLE second_factor_roles (
    role        TEXT PRIMARY KEY,
    required    BOOLEAN NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
INSERT INTO second_factor_roles (role, required, updated_by, updated_at) VALUES
    ('intake', FALSE, 'migration', CURRENT_TIMESTAMP),
    ('reviewer', FALSE, 'migration', CURRENT_TIMESTAMP),
    ('supervisor', TRUE, 'migration', CURRENT_TIMESTAMP),
    ('auditor', FALSE, 'migration', CURRENT_TIMESTAMP),
    ('admin', TRUE, 'migration', CURRENT_TIMESTAMP),
    ('collector', FALSE, 'migration', CURRENT_TIMESTAMP);

-- Passkeys (WebAuthn credentials) of staff ("user:ID") and officers
-- ("officer:ID"). credential is go-webauthn's Credential as JSON: public
-- key, sign count, flags; the private key never leaves the authenticator.
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY,
    owner         TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    last_used_at  TIMESTAMP
);
CREATE INDEX passkeys_owner ON passkeys (owner);

-- One-time recovery codes, only their SHA-256 (each is 50 random bits,
-- shown once). A code is spent by the UPDATE that sets used_at.
CREATE TABLE recovery_codes (
    owner       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    PRIMARY KEY (owner, code_hash)
);

-- +goose Down
DROP TABLE recovery_codes;
DROP TABLE passkeys;
DROP TABLE second_factor_roles;
ALTER TABLE officer_sessions DROP COLUMN challenge;
ALTER TABLE sessions DROP COLUMN challenge;
ALTER TABLE sessions DROP COLUMN second_factor;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_enrolled_at;
ALTER TABLE users DROP COLUMN totp_secret;
