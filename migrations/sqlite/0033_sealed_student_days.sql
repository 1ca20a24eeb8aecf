-- A group's or a role's pages read their students' student-days by student, and the table
-- is kept in day order for its writers: a seek per row (a 60-student tutorial over a
-- 100-day course, 5,000 seeks, a third of its dashboard). Days that are over in every time
-- zone are sealed by the activity writer and held, every column, in an index by student;
-- the days still being written stay out of it, so a live write costs no more than before.
ALTER TABLE rollup_student_day ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
-- (`sealed` is in the index too: else SQLite visits the row to test it.)
CREATE INDEX rollup_student_day_sealed
    ON rollup_student_day (course_id, user_id, day, views, sessions, active_ms, item_views, sealed)
    WHERE sealed = 1;
CREATE INDEX rollup_student_day_fresh ON rollup_student_day (course_id, user_id, day)
    WHERE sealed = 0;
UPDATE rollup_student_day SET sealed = 1 WHERE day < unixepoch() / 86400 - 1;
