-- Activity packed per course and minute, as on SQLite since 0015: one row holds the
-- minute's events, encoded and sorted by instant and key (`store::activity_pack`). An
-- event row cost an import a heap row, two index entries and a check of its course; a
-- pack costs that once per busy minute. The rows of the old table are packed by
-- `Store::migrate`, which then drops `activity_unpacked`.
CREATE TABLE activity_packs (
    course_id BIGINT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    minute    BIGINT NOT NULL,
    events    BYTEA NOT NULL,
    PRIMARY KEY (course_id, minute)
);
-- Packs are compact already: compressing them would cost every rewrite and save little.
ALTER TABLE activity_packs ALTER COLUMN events SET STORAGE EXTERNAL;
ALTER TABLE activity RENAME TO activity_unpacked;
