-- The rollups the activity writer adds to or updates with every batch no longer check
-- their course against `courses` as they are written: each check was a lookup of the
-- course (and a trigger call) per row, and an import writes a row for nearly every
-- student-hour, session and student-day it touches. The writer takes course ids from
-- the course it is writing for. A course's rows still go with it: one trigger on
-- `courses` deletes them, as the cascades did (a platform's removal deletes its
-- courses, and so fires it), each through an index led by `course_id`.
ALTER TABLE rollup_student_day DROP CONSTRAINT rollup_student_day_course_id_fkey;
ALTER TABLE rollup_student_hour DROP CONSTRAINT rollup_student_hour_course_id_fkey;
ALTER TABLE rollup_course_hour DROP CONSTRAINT rollup_course_hour_course_id_fkey;
ALTER TABLE student_sessions DROP CONSTRAINT student_sessions_course_id_fkey;
ALTER TABLE rollup_content_day DROP CONSTRAINT rollup_content_day_course_id_fkey;
ALTER TABLE rollup_course_day DROP CONSTRAINT rollup_course_day_course_id_fkey;
ALTER TABLE rollup_student_total DROP CONSTRAINT rollup_student_total_course_id_fkey;
ALTER TABLE rollup_item_total DROP CONSTRAINT rollup_item_total_course_id_fkey;
ALTER TABLE rollup_student_items DROP CONSTRAINT rollup_student_items_course_id_fkey;

CREATE FUNCTION delete_course_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM rollup_student_day WHERE course_id = OLD.id;
    DELETE FROM rollup_student_hour WHERE course_id = OLD.id;
    DELETE FROM rollup_course_hour WHERE course_id = OLD.id;
    DELETE FROM student_sessions WHERE course_id = OLD.id;
    DELETE FROM rollup_content_day WHERE course_id = OLD.id;
    DELETE FROM rollup_course_day WHERE course_id = OLD.id;
    DELETE FROM rollup_student_total WHERE course_id = OLD.id;
    DELETE FROM rollup_item_total WHERE course_id = OLD.id;
    DELETE FROM rollup_student_items WHERE course_id = OLD.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER courses_delete_rollups AFTER DELETE ON courses
    FOR EACH ROW EXECUTE FUNCTION delete_course_rollups();
