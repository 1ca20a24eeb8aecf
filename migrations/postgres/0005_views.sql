-- Indexes the instructor views read by: one resource's students (resource detail, top-10
-- unique students), one student's days (student detail) and one item's viewers.
CREATE INDEX rollup_content_day_students_item ON rollup_content_day_students (course_id, content_item_id, user_id, day);
CREATE INDEX rollup_student_day_user ON rollup_student_day (course_id, user_id, day);
CREATE INDEX activity_course_item_user ON activity (course_id, content_item_id, user_id);
