-- The hours of some students (those a page's event windows do not count), read by student.
CREATE INDEX rollup_student_hour_user ON rollup_student_hour (course_id, user_id, hour);
