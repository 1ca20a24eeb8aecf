-- Each student's views of each item per day, so the student page reads rollups and the
-- activity table keeps no index per student (the costliest part of writing an event).
-- Existing rows are counted by `Store::migrate` (days are local to each course's time
-- zone), for the courses listed in `pending_view_backfill`.
ALTER TABLE rollup_content_day_students ADD COLUMN views INTEGER NOT NULL DEFAULT 0;
CREATE INDEX rollup_content_day_students_user
    ON rollup_content_day_students (course_id, user_id, day);
DROP INDEX activity_course_user_time;

CREATE TABLE pending_view_backfill (
    course_id INTEGER PRIMARY KEY REFERENCES courses(id) ON DELETE CASCADE
);
INSERT INTO pending_view_backfill (course_id)
SELECT DISTINCT course_id FROM rollup_content_day_students;
