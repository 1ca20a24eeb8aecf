-- The whole cloop domain. Times are UTC epoch milliseconds (INTEGER); identifiers that come
-- from an LMS are kept as TEXT beside our integer keys.

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- LTI platforms (one row per registration: issuer + client_id) and their deployments.
CREATE TABLE platforms (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    product         TEXT NOT NULL DEFAULT 'other',
    issuer          TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    auth_url        TEXT NOT NULL,
    jwks_url        TEXT NOT NULL,
    token_url       TEXT NOT NULL,
    token_audience  TEXT,
    rest_base_url   TEXT,
    rest_key        TEXT,
    rest_secret     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (issuer, client_id)
);

CREATE TABLE deployments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id   INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    deployment_id TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (platform_id, deployment_id)
);

-- Bearer keys an LMS uses to push Caliper events, and Basic credentials for xAPI.
CREATE TABLE ingest_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('caliper', 'xapi')),
    key_hash    TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- The tool's own RSA signing keys. A rotated key stops signing but stays published until
-- the tokens it signed have expired.
CREATE TABLE signing_keys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kid            TEXT NOT NULL UNIQUE,
    alg            TEXT NOT NULL DEFAULT 'RS256',
    private_key    TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER,
    unpublish_at   INTEGER
);

-- OIDC login state, bound to a browser, and the nonces already used by launches.
CREATE TABLE launch_states (
    state           TEXT PRIMARY KEY,
    nonce           TEXT NOT NULL,
    platform_id     INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    target_link_uri TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX launch_states_expiry ON launch_states (expires_at);

CREATE TABLE used_nonces (
    platform_id INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    nonce       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (platform_id, nonce)
);
CREATE INDEX used_nonces_expiry ON used_nonces (expires_at);

-- Tool administrators (never granted by an LMS role) and their one-time login links.
CREATE TABLE tool_admins (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE admin_login_tokens (
    token_hash TEXT PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES tool_admins(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE courses (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id        INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
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
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (platform_id, lms_context_id)
);
CREATE INDEX courses_lms_course_pk ON courses (platform_id, lms_course_pk);
CREATE INDEX courses_lms_course_uuid ON courses (platform_id, lms_course_uuid);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id     INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    lms_sub         TEXT NOT NULL,
    lms_user_pk     TEXT,
    username        TEXT,
    external_id     TEXT,
    name            TEXT NOT NULL DEFAULT '',
    given_name      TEXT NOT NULL DEFAULT '',
    family_name     TEXT NOT NULL DEFAULT '',
    email           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (platform_id, lms_sub)
);
CREATE INDEX users_lms_user_pk ON users (platform_id, lms_user_pk);

-- roles: normalised role names, space-separated; is_staff caches the course-rights decision.
CREATE TABLE enrolments (
    course_id     INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    roles         TEXT NOT NULL DEFAULT '',
    is_staff      BOOLEAN NOT NULL DEFAULT FALSE,
    lms_role      TEXT,
    available     BOOLEAN NOT NULL DEFAULT TRUE,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    source        TEXT NOT NULL DEFAULT 'launch',
    last_accessed INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
CREATE INDEX enrolments_user ON enrolments (user_id);

-- Observed Blackboard lastAccessed values, kept as a history.
CREATE TABLE last_access_observations (
    course_id     INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_accessed INTEGER NOT NULL,
    observed_at   INTEGER NOT NULL,
    PRIMARY KEY (course_id, user_id, last_accessed)
);

CREATE TABLE content_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id   INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    lms_id      TEXT NOT NULL,
    parent_id   INTEGER REFERENCES content_items(id) ON DELETE SET NULL,
    title       TEXT NOT NULL DEFAULT '',
    handler     TEXT NOT NULL DEFAULT '',
    item_group  TEXT NOT NULL DEFAULT 'content' CHECK (item_group IN ('content', 'communication', 'assessment')),
    position    INTEGER NOT NULL DEFAULT 0,
    available   BOOLEAN NOT NULL DEFAULT TRUE,
    lms_created  INTEGER,
    lms_modified INTEGER,
    removed_at  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (course_id, lms_id)
);
CREATE INDEX content_items_parent ON content_items (parent_id);

-- Per user × reviewable content item review status (Blackboard performance endpoint).
CREATE TABLE content_reviews (
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    content_item_id INTEGER NOT NULL REFERENCES content_items(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reviewed        BOOLEAN NOT NULL,
    reviewed_at     INTEGER,
    PRIMARY KEY (content_item_id, user_id)
);

-- One normalised row per activity event, from any source, stored once per idempotency key.
CREATE TABLE activity (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    content_item_id INTEGER REFERENCES content_items(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    source          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    session_ref     TEXT,
    UNIQUE (course_id, idempotency_key)
);
CREATE INDEX activity_course_time ON activity (course_id, occurred_at);
CREATE INDEX activity_course_user_time ON activity (course_id, user_id, occurred_at);

-- Events received for a course cloop does not know yet: kept, attached when it appears.
CREATE TABLE pending_activity (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id     INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    lms_course_ref  TEXT NOT NULL,
    source          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payload         TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    UNIQUE (platform_id, source, idempotency_key)
);
CREATE INDEX pending_activity_course ON pending_activity (platform_id, lms_course_ref);

-- Daily rollups; day = days since 1970-01-01 in the course's time zone.
-- content_item_id 0 stands for views that could not be tied to an item.
CREATE TABLE rollup_content_day (
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    day             INTEGER NOT NULL,
    content_item_id INTEGER NOT NULL,
    views           INTEGER NOT NULL DEFAULT 0,
    unique_students INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (course_id, day, content_item_id)
);

CREATE TABLE rollup_content_day_students (
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    day             INTEGER NOT NULL,
    content_item_id INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    PRIMARY KEY (course_id, day, content_item_id, user_id)
);

CREATE TABLE rollup_student_day (
    course_id      INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    day            INTEGER NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    views          INTEGER NOT NULL DEFAULT 0,
    sessions       INTEGER NOT NULL DEFAULT 0,
    active_ms      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (course_id, day, user_id)
);

-- Where each student's current session stands, so sessions can be split incrementally.
CREATE TABLE student_sessions (
    course_id     INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    started_at    INTEGER NOT NULL,
    last_event_at INTEGER NOT NULL,
    PRIMARY KEY (course_id, user_id, started_at)
);

-- Teaching calendar: single events, repeating events and submission windows.
CREATE TABLE course_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('single', 'repeating', 'submission')),
    source          TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'gradebook', 'calendar', 'ags')),
    lms_id          TEXT,
    title           TEXT NOT NULL,
    starts_at       INTEGER,
    ends_at         INTEGER,
    weekday         INTEGER CHECK (weekday BETWEEN 0 AND 6),
    minute_of_day   INTEGER CHECK (minute_of_day BETWEEN 0 AND 1439),
    first_week      INTEGER,
    last_week       INTEGER,
    submission_type TEXT CHECK (submission_type IN ('assignment', 'quiz')),
    hidden          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (course_id, source, lms_id)
);
CREATE INDEX course_events_course ON course_events (course_id);

-- Grade columns / line items and the attempts and grades on them.
CREATE TABLE assessments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    lms_id          TEXT NOT NULL,
    source          TEXT NOT NULL DEFAULT 'gradebook',
    content_item_id INTEGER REFERENCES content_items(id) ON DELETE SET NULL,
    name            TEXT NOT NULL DEFAULT '',
    points_possible REAL,
    due_at          INTEGER,
    change_index    INTEGER,
    lms_modified    INTEGER,
    removed_at      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (course_id, lms_id)
);

CREATE TABLE attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    lms_id        TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT '',
    score         REAL,
    attempted_at  INTEGER,
    submitted_at  INTEGER,
    lms_modified  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (assessment_id, lms_id)
);
CREATE INDEX attempts_user ON attempts (user_id);

CREATE TABLE grades (
    assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    score         REAL,
    text_grade    TEXT,
    change_index  INTEGER,
    graded_at     INTEGER,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (assessment_id, user_id)
);

-- Discussions (Ultra discussions, forums) and their posts.
CREATE TABLE forums (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    lms_id          TEXT NOT NULL,
    content_item_id INTEGER REFERENCES content_items(id) ON DELETE SET NULL,
    title           TEXT NOT NULL DEFAULT '',
    removed_at      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (course_id, lms_id)
);

CREATE TABLE forum_posts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id     INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    forum_id      INTEGER NOT NULL REFERENCES forums(id) ON DELETE CASCADE,
    lms_id        TEXT NOT NULL,
    parent_lms_id TEXT,
    thread_lms_id TEXT,
    user_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    status        TEXT NOT NULL DEFAULT '',
    posted_at     INTEGER NOT NULL,
    removed_at    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (course_id, lms_id)
);
CREATE INDEX forum_posts_forum_time ON forum_posts (forum_id, posted_at);

-- Sync bookkeeping: one row per run, per-platform daily call counts.
CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id   INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL DEFAULT 'full',
    status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'paused')),
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    calls       INTEGER NOT NULL DEFAULT 0,
    inserted    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    cursor      TEXT,
    error       TEXT
);
CREATE INDEX sync_runs_course ON sync_runs (course_id, started_at);

CREATE TABLE api_usage (
    platform_id INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    calls       INTEGER NOT NULL DEFAULT 0,
    remaining   INTEGER,
    PRIMARY KEY (platform_id, day)
);

-- Durable job queue. At most one queued or running job per (kind, dedupe_key).
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    dedupe_key  TEXT NOT NULL,
    payload     TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      INTEGER NOT NULL,
    locked_by   TEXT,
    locked_at   INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_one_active ON jobs (kind, dedupe_key) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_due ON jobs (status, run_at);

-- Per-user OAuth grants (Blackboard 3-legged REST), refresh tokens encrypted.
CREATE TABLE user_rest_grants (
    platform_id   INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_token TEXT NOT NULL,
    scope         TEXT NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (platform_id, user_id)
);
