-- +goose Up
-- Infix search (issue 16, cases/store/trigram.go). case_search holds the
-- lowercased text a case is searched in (number, reference, targets,
-- names, note words), space-separated; case_trigrams is its trigram index,
-- written in the same transaction as the text: a query word is looked up
-- by intersecting the postings of its trigrams, then confirmed with LIKE
-- on the text. (go-sqlite3 is built here without FTS5, so no trigram
-- tokenizer.) Trigrams spanning a space are not kept: a query word has
-- none.
CREATE TABLE case_search (
    case_id INTEGER PRIMARY KEY REFERENCES cases(id),
    body    TEXT NOT NULL
);
CREATE TABLE case_trigrams (
    trigram TEXT NOT NULL,
    case_id INTEGER NOT NULL,
    PRIMARY KEY (trigram, case_id)
) WITHOUT ROWID;
-- Cases logged before: their terms are their text.
INSERT INTO case_search (case_id, body)
    SELECT case_id, ' ' || group_concat(term, ' ') || ' ' FROM case_terms GROUP BY case_id;
INSERT OR IGNORE INTO case_trigrams (trigram, case_id)
    WITH RECURSIVE pos(case_id, body, i) AS (
        SELECT case_id, body, 1 FROM case_search
        UNION ALL SELECT case_id, body, i + 1 FROM pos WHERE i + 3 <= length(body))
    SELECT substr(body, i, 3), case_id FROM pos WHERE instr(substr(body, i, 3), ' ') = 0 AND length(substr(body, i, 3)) = 3;

-- +goose Down
DROP TABLE case_trigrams;
DROP TABLE case_search;
