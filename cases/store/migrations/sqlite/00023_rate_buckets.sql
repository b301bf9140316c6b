-- +goose Up
-- Rate-limit buckets shared by every instance of a deployment (issue 18):
-- one row per limit and client, holding the bucket as GCRA's theoretical
-- arrival time (microseconds since 1970, UTC); a check is one INSERT ...
-- ON CONFLICT DO UPDATE (store.TakeRate). `serve` on SQLite keeps its
-- buckets in memory instead: a SQLite file serves one instance, whose
-- memory is the deployment's, and a row written per API request would
-- queue every one behind the single writer and its fsync. The table is
-- kept so both schemas, and the store's methods, stay the same.
CREATE TABLE rate_buckets (
    name   TEXT    NOT NULL,
    client TEXT    NOT NULL,
    tat    INTEGER NOT NULL,
    PRIMARY KEY (name, client)
);

-- +goose Down
DROP TABLE rate_buckets;
