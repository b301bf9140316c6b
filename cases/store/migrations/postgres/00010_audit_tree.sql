-- +goose Up
-- The audit log as an RFC 6962 Merkle tree (issue 13). Each event's leaf
-- hash is kept beside the log, so proofs are built without rehashing every
-- event; the head keeps the tree's compact range (the roots of its perfect
-- subtrees) and root, advanced in the same transaction as each event.
-- Existing events get their leaf hashes from envelope at the next start
-- (SQL cannot reproduce the leaf encoding); their rows are not touched.
CREATE TABLE audit_leaves (
    seq       BIGINT PRIMARY KEY,
    leaf_hash TEXT NOT NULL
);
ALTER TABLE audit_head ADD COLUMN tree_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN tree_range TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_head ADD COLUMN tree_root TEXT NOT NULL DEFAULT '';

CREATE TRIGGER audit_leaves_no_change BEFORE UPDATE OR DELETE ON audit_leaves
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TRIGGER audit_leaves_no_change ON audit_leaves;
DROP TABLE audit_leaves;
ALTER TABLE audit_head DROP COLUMN tree_root;
ALTER TABLE audit_head DROP COLUMN tree_range;
ALTER TABLE audit_head DROP COLUMN tree_size;
