-- +goose Up
-- Infix search (issue 16, cases/store/trigram.go). case_search holds the
-- lowercased text a case is searched in (number, reference, targets,
-- names, note words), space-separated; pg_trgm's GIN index answers
-- body LIKE '%word%' from trigram postings, then rechecks the text.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE case_search (
    case_id BIGINT PRIMARY KEY REFERENCES cases(id),
    body    TEXT NOT NULL
);
-- Cases logged before: their terms are their text.
INSERT INTO case_search (case_id, body)
    SELECT case_id, ' ' || string_agg(term, ' ') || ' ' FROM case_terms GROUP BY case_id;
CREATE INDEX case_search_trgm ON case_search USING gin (body gin_trgm_ops);

-- +goose Down
DROP TABLE case_search;
