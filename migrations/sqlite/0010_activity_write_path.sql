-- Cheaper writes of activity: an event is identified by its course, instant and key, so
-- rows arrive near the end of the key order instead of at random places. The table is
-- clustered on that key (no separate rowid tree), which also serves the course's latest
-- event. One item's viewers are read from `rollup_item_students.views`, so activity no
-- longer keeps an index per item and user. The unique-student triples are clustered too.
CREATE TABLE activity_clustered (
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    occurred_at     INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    content_item_id INTEGER REFERENCES content_items(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL,
    source          TEXT NOT NULL,
    session_ref     TEXT,
    PRIMARY KEY (course_id, occurred_at, idempotency_key)
) WITHOUT ROWID;
INSERT INTO activity_clustered (course_id, occurred_at, idempotency_key, user_id,
    content_item_id, kind, source, session_ref)
SELECT course_id, occurred_at, idempotency_key, user_id, content_item_id, kind, source,
    session_ref FROM activity ORDER BY course_id, occurred_at, idempotency_key;
DROP TABLE activity;
ALTER TABLE activity_clustered RENAME TO activity;
CREATE INDEX activity_course_user_time ON activity (course_id, user_id, occurred_at);

CREATE TABLE rollup_content_day_students_clustered (
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    day             INTEGER NOT NULL,
    content_item_id INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    PRIMARY KEY (course_id, day, content_item_id, user_id)
) WITHOUT ROWID;
INSERT INTO rollup_content_day_students_clustered
SELECT course_id, day, content_item_id, user_id FROM rollup_content_day_students;
DROP TABLE rollup_content_day_students;
ALTER TABLE rollup_content_day_students_clustered RENAME TO rollup_content_day_students;
CREATE INDEX rollup_content_day_students_item
    ON rollup_content_day_students (course_id, content_item_id, user_id, day);

-- How often each student viewed each item, over all days.
ALTER TABLE rollup_item_students ADD COLUMN views INTEGER NOT NULL DEFAULT 0;
CREATE TEMP TABLE item_student_views AS
SELECT course_id, COALESCE(content_item_id, 0) AS content_item_id, user_id, COUNT(*) AS views
FROM activity WHERE kind = 'view' AND user_id IS NOT NULL
GROUP BY course_id, COALESCE(content_item_id, 0), user_id;
UPDATE rollup_item_students SET views = v.views FROM item_student_views v
WHERE v.course_id = rollup_item_students.course_id
  AND v.content_item_id = rollup_item_students.content_item_id
  AND v.user_id = rollup_item_students.user_id;
DROP TABLE item_student_views;
