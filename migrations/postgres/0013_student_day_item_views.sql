-- Each student's views per item on a day are kept on that student-day's row (`item:views`
-- pairs joined by commas), where the student page reads them, so the per-student index of
-- the student-item-day rows, written with every new view, is no longer needed.
ALTER TABLE rollup_student_day ADD COLUMN item_views TEXT NOT NULL DEFAULT '';
UPDATE rollup_student_day SET item_views = v.item_views
FROM (SELECT course_id, day, user_id,
             string_agg(CAST(content_item_id AS TEXT) || ':' || CAST(views AS TEXT), ',') AS item_views
      FROM rollup_content_day_students GROUP BY course_id, day, user_id) v
WHERE rollup_student_day.course_id = v.course_id AND rollup_student_day.day = v.day
  AND rollup_student_day.user_id = v.user_id;
DROP INDEX rollup_content_day_students_user;
