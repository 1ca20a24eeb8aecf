-- Each student's last day with a page view, kept with their course totals so the outreach
-- lists read one row per student instead of every student-day.
ALTER TABLE rollup_student_total ADD COLUMN last_view_day BIGINT;
UPDATE rollup_student_total SET last_view_day = (
    SELECT MAX(d.day) FROM rollup_student_day d
    WHERE d.course_id = rollup_student_total.course_id
      AND d.user_id = rollup_student_total.user_id AND d.views > 0
);
