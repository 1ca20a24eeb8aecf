-- Course-wide rollups kept with the day rollups, so the dashboard reads a row per day,
-- per student and per item instead of aggregating every student-day and item-day.
-- Group views follow content_items.item_group (re-derived when a sync changes a group).
CREATE TABLE rollup_course_day (
    course_id           BIGINT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    day                 BIGINT NOT NULL,
    content_views       BIGINT NOT NULL DEFAULT 0,
    communication_views BIGINT NOT NULL DEFAULT 0,
    assessment_views    BIGINT NOT NULL DEFAULT 0,
    pages_viewed        BIGINT NOT NULL DEFAULT 0,
    active_students     BIGINT NOT NULL DEFAULT 0,
    views               BIGINT NOT NULL DEFAULT 0,
    sessions            BIGINT NOT NULL DEFAULT 0,
    active_ms           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (course_id, day)
);

-- Per student over all days.
CREATE TABLE rollup_student_total (
    course_id BIGINT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL,
    views     BIGINT NOT NULL DEFAULT 0,
    sessions  BIGINT NOT NULL DEFAULT 0,
    active_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (course_id, user_id)
);

-- Per item (0: views tied to no item) over all days; unique students over all days.
CREATE TABLE rollup_item_total (
    course_id       BIGINT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    content_item_id BIGINT NOT NULL,
    views           BIGINT NOT NULL DEFAULT 0,
    unique_students BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (course_id, content_item_id)
);

-- Who has viewed each item on any day: a student counts once per item.
CREATE TABLE rollup_item_students (
    course_id       BIGINT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    content_item_id BIGINT NOT NULL,
    user_id         BIGINT NOT NULL,
    PRIMARY KEY (course_id, content_item_id, user_id)
);

INSERT INTO rollup_course_day (course_id, day, content_views, communication_views,
    assessment_views, pages_viewed)
SELECT r.course_id, r.day,
    SUM(CASE WHEN ci.item_group IN ('communication', 'assessment') THEN 0 ELSE r.views END),
    SUM(CASE WHEN ci.item_group = 'communication' THEN r.views ELSE 0 END),
    SUM(CASE WHEN ci.item_group = 'assessment' THEN r.views ELSE 0 END),
    SUM(CASE WHEN r.content_item_id <> 0 AND r.views > 0 THEN 1 ELSE 0 END)
FROM rollup_content_day r LEFT JOIN content_items ci ON ci.id = r.content_item_id
GROUP BY r.course_id, r.day;

INSERT INTO rollup_course_day (course_id, day, active_students, views, sessions, active_ms)
SELECT course_id, day, COUNT(*), SUM(views), SUM(sessions), SUM(active_ms)
FROM rollup_student_day WHERE TRUE GROUP BY course_id, day
ON CONFLICT (course_id, day) DO UPDATE SET active_students = excluded.active_students,
    views = excluded.views, sessions = excluded.sessions, active_ms = excluded.active_ms;

INSERT INTO rollup_student_total (course_id, user_id, views, sessions, active_ms)
SELECT course_id, user_id, SUM(views), SUM(sessions), SUM(active_ms)
FROM rollup_student_day GROUP BY course_id, user_id;

INSERT INTO rollup_item_students (course_id, content_item_id, user_id)
SELECT DISTINCT course_id, content_item_id, user_id FROM rollup_content_day_students;

INSERT INTO rollup_item_total (course_id, content_item_id, views, unique_students)
SELECT r.course_id, r.content_item_id, SUM(r.views),
    (SELECT COUNT(*) FROM rollup_item_students s
     WHERE s.course_id = r.course_id AND s.content_item_id = r.content_item_id)
FROM rollup_content_day r GROUP BY r.course_id, r.content_item_id;
