-- Session merging reads a course's sessions near new events by time.
CREATE INDEX student_sessions_course_last ON student_sessions (course_id, last_event_at);
-- Events that name their course by batch uid / course number.
CREATE INDEX courses_lms_external_id ON courses (platform_id, lms_external_id);
