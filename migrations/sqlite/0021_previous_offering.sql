-- Offering comparison: whether staff chose the previous offering (a course, or none) or
-- cloop finds it by course code. Links made before this migration were explicit.
ALTER TABLE courses ADD COLUMN previous_chosen BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE courses SET previous_chosen = TRUE WHERE previous_course_id IS NOT NULL;
CREATE INDEX courses_platform_start ON courses (platform_id, start_date);
