-- The student-hour rows a page reads by student (the students an event window leaves out,
-- or a group's) come from the index alone: it holds their views per item, so the wide rows
-- (the instants of every view) are not visited one by one.
DROP INDEX rollup_student_hour_user;
CREATE INDEX rollup_student_hour_user ON rollup_student_hour (course_id, user_id, hour, item_views);
