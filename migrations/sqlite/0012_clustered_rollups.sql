-- The rollups written with every batch of events become clustered on their keys (WITHOUT
-- ROWID): a row is one B-tree entry instead of a table row plus an index of its key.
-- Each student's views per item and day are clustered by item and day, which serves the
-- students of an item over a range of days, so that table needs one index, not two.
CREATE TABLE rollup_content_day_clustered (
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    day             INTEGER NOT NULL,
    content_item_id INTEGER NOT NULL,
    views           INTEGER NOT NULL DEFAULT 0,
    unique_students INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (course_id, day, content_item_id)
) WITHOUT ROWID;
INSERT INTO rollup_content_day_clustered
SELECT course_id, day, content_item_id, views, unique_students FROM rollup_content_day;
DROP TABLE rollup_content_day;
ALTER TABLE rollup_content_day_clustered RENAME TO rollup_content_day;

CREATE TABLE rollup_content_day_students_clustered (
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    day             INTEGER NOT NULL,
    content_item_id INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    views           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (course_id, content_item_id, day, user_id)
) WITHOUT ROWID;
INSERT INTO rollup_content_day_students_clustered
SELECT course_id, day, content_item_id, user_id, views FROM rollup_content_day_students;
DROP TABLE rollup_content_day_students;
ALTER TABLE rollup_content_day_students_clustered RENAME TO rollup_content_day_students;
CREATE INDEX rollup_content_day_students_user
    ON rollup_content_day_students (course_id, user_id, day);

CREATE TABLE rollup_student_day_clustered (
    course_id      INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    day            INTEGER NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    views          INTEGER NOT NULL DEFAULT 0,
    sessions       INTEGER NOT NULL DEFAULT 0,
    active_ms      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (course_id, day, user_id)
) WITHOUT ROWID;
INSERT INTO rollup_student_day_clustered
SELECT course_id, day, user_id, views, sessions, active_ms FROM rollup_student_day;
DROP TABLE rollup_student_day;
ALTER TABLE rollup_student_day_clustered RENAME TO rollup_student_day;
CREATE INDEX rollup_student_day_user ON rollup_student_day (course_id, user_id, day);

CREATE TABLE student_sessions_clustered (
    course_id     INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    started_at    INTEGER NOT NULL,
    last_event_at INTEGER NOT NULL,
    PRIMARY KEY (course_id, user_id, started_at)
) WITHOUT ROWID;
INSERT INTO student_sessions_clustered
SELECT course_id, user_id, started_at, last_event_at FROM student_sessions;
DROP TABLE student_sessions;
ALTER TABLE student_sessions_clustered RENAME TO student_sessions;
CREATE INDEX student_sessions_course_last ON student_sessions (course_id, last_event_at);
