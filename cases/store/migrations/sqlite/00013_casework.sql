-- +goose Up
-- The case work of a legal team (issue 16, cases/casework.go): how a case
-- ended (result: some_data, no_data, refused, challenged, withdrawn, with
-- a reason code) and the reviewer's shaping of the decision (shape_json:
-- narrowed categories and window, per-target decisions).
ALTER TABLE cases ADD COLUMN result TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN result_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN shape_json TEXT;

-- +goose Down
ALTER TABLE cases DROP COLUMN shape_json;
ALTER TABLE cases DROP COLUMN result_reason;
ALTER TABLE cases DROP COLUMN result;
