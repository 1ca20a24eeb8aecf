-- Each student's views per item and day are keyed by item and day, which serves the
-- students of an item over a range of days, so that table needs one index, not two.
-- (On SQLite this migration also clusters the other per-batch rollups on their keys;
-- PostgreSQL's tables are heaps either way.)
ALTER TABLE rollup_content_day_students DROP CONSTRAINT rollup_content_day_students_pkey;
ALTER TABLE rollup_content_day_students ADD PRIMARY KEY (course_id, content_item_id, day, user_id);
DROP INDEX rollup_content_day_students_item;
