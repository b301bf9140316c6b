-- +goose Up
-- Case documents in the blob store (issue 18): a document, attachment or
-- thread file written by an instance with a blob store set
-- (store.DB.SetFiles) keeps its content there, under the name in blob,
-- and an empty content here. A row with blob '' keeps its content in the
-- row, as every row written before this migration does.
ALTER TABLE case_documents ADD COLUMN blob TEXT NOT NULL DEFAULT '';
ALTER TABLE case_attachments ADD COLUMN blob TEXT NOT NULL DEFAULT '';
ALTER TABLE case_message_files ADD COLUMN blob TEXT NOT NULL DEFAULT '';

-- The blobs of rows deleted (a retention purge) that are still to be
-- deleted from the blob store. A blob store need not be the database, so
-- a blob goes after the commit that deleted its row; a name stays here
-- until its blob is deleted, and the next purge retries it.
CREATE TABLE blob_trash (
    name      TEXT PRIMARY KEY,
    queued_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE blob_trash;
ALTER TABLE case_message_files DROP COLUMN blob;
ALTER TABLE case_attachments DROP COLUMN blob;
ALTER TABLE case_documents DROP COLUMN blob;
