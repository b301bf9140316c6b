-- +goose Up
-- The audit log as an RFC 6962 Merkle tree (issue 13). Each new event
-- stores its leaf hash in its own row, so proofs are built without
-- rehashing every event; the head keeps the tree's compact range (the
-- roots of its perfect subtrees) and root, advanced in the same
-- transaction as each event. Events written before this migration keep a
-- NULL leaf hash (the append-only triggers forbid changing them, and SQL
-- cannot reproduce the leaf encoding): envelope hashes them from their
-- content, and builds the head's tree over them at the next start.
ALTER TABLE audit_events ADD COLUMN leaf_hash TEXT;
ALTER TABLE audit_head ADD COLUMN tree_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN tree_range TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_head ADD COLUMN tree_root TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_head DROP COLUMN tree_root;
ALTER TABLE audit_head DROP COLUMN tree_range;
ALTER TABLE audit_head DROP COLUMN tree_size;
ALTER TABLE audit_events DROP COLUMN leaf_hash;
