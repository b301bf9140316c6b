-- +goose Up
-- The blob store (issue 18): disclosure packages and letters, which each
-- instance used to keep in its own folder, are kept in the database that
-- every instance shares. A blob is a header row and its content in chunks
-- of at most store.BlobChunk bytes, so it is written and read a chunk at
-- a time and never held whole in memory. A blob is served only once
-- complete: a write cut off by a crash leaves an incomplete header that a
-- later write of that name replaces once it is stale.
CREATE TABLE blobs (
    name       TEXT PRIMARY KEY,
    size       BIGINT NOT NULL DEFAULT 0,
    chunks     INTEGER NOT NULL DEFAULT 0,
    complete   BOOLEAN NOT NULL DEFAULT 0,
    -- writer is the random claim of the write under way: only it may
    -- complete the blob, and another writer takes over an incomplete one
    -- only once it is stale.
    writer     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE blob_chunks (
    name TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (name, seq)
);

-- +goose Down
DROP TABLE blob_chunks;
DROP TABLE blobs;
