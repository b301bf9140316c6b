-- +goose Up
-- The agency portal's correspondence, delivery notices and agency
-- suspensions (issue 14, web/agency).

-- One thread per case between the legal team and the agency (a case
-- submitted through the portal). side is staff or agency; author is the
-- staff user's email or agency:EMAIL; kind is message,
-- clarification_request or clarification_answer. Messages are never
-- edited or deleted, and stay after the case is closed.
CREATE TABLE case_messages (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    side        TEXT NOT NULL,
    author      TEXT NOT NULL,
    officer_id  INTEGER REFERENCES officers(id),
    kind        TEXT NOT NULL DEFAULT 'message',
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX case_messages_case ON case_messages (case_id, id);

-- The PDFs attached to a message, with their SHA-256 as received.
CREATE TABLE case_message_files (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES case_messages(id),
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    filename    TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    content     BLOB NOT NULL
);
CREATE INDEX case_message_files_message ON case_message_files (message_id, id);

-- The email telling the agency a package is ready: one row per package,
-- inserted in the transaction that queues the mail, so each package is
-- announced once however many instances look for new ones.
CREATE TABLE package_notices (
    package_id  INTEGER PRIMARY KEY REFERENCES packages(id),
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    recipients  INTEGER NOT NULL,
    at          TIMESTAMP NOT NULL
);

-- A suspended agency: none of its officers can sign in or act while its
-- row exists; reinstating deletes the row (both are audited).
CREATE TABLE agency_suspensions (
    agency_id     INTEGER PRIMARY KEY REFERENCES agencies(id),
    reason        TEXT NOT NULL,
    suspended_by  TEXT NOT NULL,
    at            TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE agency_suspensions;
DROP TABLE package_notices;
DROP TABLE case_message_files;
DROP TABLE case_messages;
