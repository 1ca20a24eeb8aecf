-- no-transaction
-- A course is (platform, deployment, LTI context id): two deployments of one registration
-- may hold the same context id, and their courses must stay apart. Rebuilding `courses`
-- for its new unique key needs foreign keys off (a DROP with them on would cascade into
-- every table that references courses), and that pragma only works outside a
-- transaction, hence `no-transaction` and the explicit BEGIN/COMMIT.
PRAGMA foreign_keys = OFF;
BEGIN;

-- A platform that has courses but no deployment (possible only for rows made before
-- deployments were required) gets one, so that no course is lost.
INSERT INTO deployments (platform_id, deployment_id, created_at)
SELECT DISTINCT c.platform_id, 'unknown (before migration 0017)',
       CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM courses c
WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.platform_id = c.platform_id);

CREATE TABLE courses_0017 (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id        INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    deployment_id      INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    lms_context_id     TEXT NOT NULL,
    lms_course_uuid    TEXT,
    lms_course_pk      TEXT,
    lms_external_id    TEXT,
    title              TEXT NOT NULL DEFAULT '',
    code               TEXT NOT NULL DEFAULT '',
    term               TEXT NOT NULL DEFAULT '',
    start_date         TEXT,
    weeks              INTEGER NOT NULL DEFAULT 12 CHECK (weeks BETWEEN 1 AND 104),
    time_zone          TEXT NOT NULL DEFAULT 'UTC',
    dates_set_by_staff BOOLEAN NOT NULL DEFAULT FALSE,
    previous_course_id INTEGER REFERENCES courses(id) ON DELETE SET NULL,
    nrps_url           TEXT,
    ags_lineitems_url  TEXT,
    ags_scopes         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (platform_id, deployment_id, lms_context_id)
);

-- Existing courses go to their platform's first registered deployment: the only one in
-- the usual case, and a deterministic choice when an admin registered several (the
-- launches of the other deployments then make courses of their own).
INSERT INTO courses_0017 (id, platform_id, deployment_id, lms_context_id, lms_course_uuid,
    lms_course_pk, lms_external_id, title, code, term, start_date, weeks, time_zone,
    dates_set_by_staff, previous_course_id, nrps_url, ags_lineitems_url, ags_scopes,
    created_at, updated_at)
SELECT c.id, c.platform_id,
    (SELECT MIN(d.id) FROM deployments d WHERE d.platform_id = c.platform_id),
    c.lms_context_id, c.lms_course_uuid, c.lms_course_pk, c.lms_external_id, c.title, c.code,
    c.term, c.start_date, c.weeks, c.time_zone, c.dates_set_by_staff, c.previous_course_id,
    c.nrps_url, c.ags_lineitems_url, c.ags_scopes, c.created_at, c.updated_at
FROM courses c;

-- Ids of deleted courses are never handed out again (old links name course ids).
INSERT INTO sqlite_sequence (name, seq)
SELECT 'courses_0017', 0
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'courses_0017');
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'courses'), 0))
WHERE name = 'courses_0017';

DROP TABLE courses;
ALTER TABLE courses_0017 RENAME TO courses;
CREATE INDEX courses_lms_course_pk ON courses (platform_id, lms_course_pk);
CREATE INDEX courses_lms_course_uuid ON courses (platform_id, lms_course_uuid);
CREATE INDEX courses_lms_external_id ON courses (platform_id, lms_external_id);
CREATE INDEX courses_deployment ON courses (deployment_id);

COMMIT;
PRAGMA foreign_keys = ON;
