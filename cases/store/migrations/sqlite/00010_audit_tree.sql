-- +goose Up
-- The audit log as an RFC 6962 Merkle tree (issue 13). Each event's leaf
-- hash is kept beside the log, so proofs are built without rehashing every
-- event; the head keeps the tree's compact range (the roots of its perfect
-- subtrees) and root, advanced in the same transaction as each event.
-- Existing events get their leaf hashes from envelope at the next start
-- (SQL cannot reproduce the leaf encoding); their rows are not touched.
CREATE TABLE audit_leaves (
    seq       INTEGER PRIMARY KEY,
    leaf_hash TEXT NOT NULL
);
ALTER TABLE audit_head ADD COLUMN tree_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN tree_range TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_head ADD COLUMN tree_root TEXT NOT NULL DEFAULT '';

-- +goose StatementBegin
CREATE TRIGGER audit_leaves_no_update BEFORE UPDATE ON audit_leaves
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_leaves_no_delete BEFORE DELETE ON audit_leaves
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_leaves;
ALTER TABLE audit_head DROP COLUMN tree_root;
ALTER TABLE audit_head DROP COLUMN tree_range;
ALTER TABLE audit_head DROP COLUMN tree_size;
