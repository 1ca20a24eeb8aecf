-- Each student's views per UTC-epoch hour, behind the event windows in hours: `item_views`
-- holds `item:views` pairs (item 0: no item) for hours a window covers whole; `instants`
-- holds an `item:offset` pair per view (offset: milliseconds into the hour) for the hours a
-- window edge cuts, so windows at any instant are counted exactly. Both are appended to
-- as events arrive (a pair may repeat; readers sum). Existing events are counted by
-- `Store::migrate` for the courses listed in `pending_hour_backfill`.
CREATE TABLE rollup_student_hour (
    course_id  BIGINT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    hour       BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    item_views TEXT NOT NULL,
    instants   TEXT NOT NULL,
    PRIMARY KEY (course_id, hour, user_id)
);

-- The course's views per UTC-epoch hour by a known user, per user and per item (`a:views`
-- pairs, each key once), rewritten whole as events arrive: a window reads one row per hour
-- it covers whole, and the student-hour rows only of the hours its edges cut and of the
-- users it does not count (staff).
CREATE TABLE rollup_course_hour (
    course_id  BIGINT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    hour       BIGINT NOT NULL,
    user_views TEXT NOT NULL,
    item_views TEXT NOT NULL,
    PRIMARY KEY (course_id, hour)
);

CREATE TABLE pending_hour_backfill (
    course_id BIGINT PRIMARY KEY REFERENCES courses(id) ON DELETE CASCADE
);
INSERT INTO pending_hour_backfill (course_id)
SELECT DISTINCT course_id FROM rollup_student_day;
