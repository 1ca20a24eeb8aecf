-- Activity packed per course and minute: one row holds the minute's events, encoded and
-- sorted by instant and key (`store::activity_pack`), so a bulk import writes a B-tree
-- entry per busy minute instead of one per event. The rows of the old table are packed by
-- `Store::migrate`, which then drops `activity_unpacked`.
CREATE TABLE activity_packs (
    course_id INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    minute    INTEGER NOT NULL,
    events    BLOB NOT NULL,
    PRIMARY KEY (course_id, minute)
);
ALTER TABLE activity RENAME TO activity_unpacked;
