-- +goose Up
-- Rate-limit buckets shared by every instance of a deployment (issue 18):
-- the API limit per client and the sign-in throttle per address. One row
-- per limit and client, holding the bucket as GCRA's theoretical arrival
-- time (microseconds since 1970, UTC): a check is one INSERT ... ON
-- CONFLICT DO UPDATE (store.TakeRate), so checks on many instances at once
-- never admit more than the limit. A row whose time has passed is a full
-- bucket, the same as no row, and is pruned (store.PruneRates).
--
-- UNLOGGED: every API request updates a row, and a logged table would
-- make each one wait for a WAL flush. A crash empties the table, which
-- only refills every client's buckets; a standby does not have it either.
-- No index but the key, so the updates stay HOT (fillfactor leaves them
-- room on the page); the prune scans a table of the clients seen lately.
CREATE UNLOGGED TABLE rate_buckets (
    name   TEXT   NOT NULL,
    client TEXT   NOT NULL,
    tat    BIGINT NOT NULL,
    PRIMARY KEY (name, client)
) WITH (fillfactor = 70);

-- +goose Down
DROP TABLE rate_buckets;
