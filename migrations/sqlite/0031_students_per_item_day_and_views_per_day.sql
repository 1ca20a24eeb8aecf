-- Which students first viewed each item each day (`rollup_content_day.students`, runs of
-- ids in `activity::student_list`'s form, appended to by the writers) and each student's
-- views per day over the whole course (`rollup_student_items.day_views`, `day:views`
-- pairs): the access pages' students tabs, the students page and outreach read these few
-- thousand rows instead of every student-day. Existing rows are filled by `Store::migrate` from the student-days,
-- for the courses listed in `pending_student_lists`.
ALTER TABLE rollup_content_day ADD COLUMN students TEXT NOT NULL DEFAULT '';
ALTER TABLE rollup_student_items ADD COLUMN day_views TEXT NOT NULL DEFAULT '';

CREATE TABLE pending_student_lists (
    course_id INTEGER PRIMARY KEY REFERENCES courses(id) ON DELETE CASCADE
);
INSERT INTO pending_student_lists (course_id)
SELECT DISTINCT course_id FROM rollup_student_day;
