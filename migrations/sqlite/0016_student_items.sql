-- Each student's views per item over all days, one row per student (in the form of
-- `rollup_student_day.item_views`) instead of one per student and item: a batch of events
-- rewrites one row per active student, where it updated one row per student and item it
-- touched, scattered over the whole table. An item missing from a student's row is that
-- student's first view of it.
CREATE TABLE rollup_student_items (
    course_id  INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    item_views TEXT NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
INSERT INTO rollup_student_items (course_id, user_id, item_views)
SELECT course_id, user_id, group_concat(content_item_id || ':' || views, ',')
FROM rollup_item_students GROUP BY course_id, user_id;
DROP TABLE rollup_item_students;
