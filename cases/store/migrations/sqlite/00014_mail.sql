-- +goose Up
-- The outbound mail queue (cases/mail): a message is queued in the same
-- transaction as the change that causes it, and a sender in serve delivers
-- it, retrying with backoff, so a mail-server outage loses nothing.
-- status: queued, sent, failed (gave up after the attempts allowed).
-- transport says how a sent message left: smtp, or log (no --smtp: it was
-- printed where an operator sees it).
CREATE TABLE mail_queue (
    id              INTEGER PRIMARY KEY,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT '',
    case_id         INTEGER REFERENCES cases(id),
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    transport       TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
-- The sender reads the queued messages that are due, oldest due first.
CREATE INDEX mail_queue_due ON mail_queue (status, next_attempt_at, id);

-- Attachments as bytes, copied when queued: the message goes out as it was
-- when the change was made, even if the case's document is superseded.
-- case_document names the case document it was copied from, for the record.
CREATE TABLE mail_attachments (
    id            INTEGER PRIMARY KEY,
    mail_id       INTEGER NOT NULL REFERENCES mail_queue(id),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    content       BLOB NOT NULL,
    case_document TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mail_attachments_mail ON mail_attachments (mail_id, id);

-- +goose Down
DROP TABLE mail_attachments;
DROP TABLE mail_queue;
