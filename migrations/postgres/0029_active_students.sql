-- A student is active on a day with page views or a session starting that day. A session
-- that a later event moved to the day before used to leave its first day's student-day row
-- behind with nothing in it, still counted among that day's active students; the writers
-- now delete such rows and count active students by what the rows hold. Bring stored
-- rollups in line.
DELETE FROM rollup_student_day
WHERE views = 0 AND sessions = 0 AND active_ms = 0 AND item_views = '';

UPDATE rollup_course_day SET active_students = (
    SELECT COUNT(*) FROM rollup_student_day s
    WHERE s.course_id = rollup_course_day.course_id AND s.day = rollup_course_day.day
      AND (s.views <> 0 OR s.sessions <> 0)
);
