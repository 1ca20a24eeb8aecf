-- Course groups and sections from the LMS (Blackboard REST groups, NRPS group enrolments),
-- each kept per source so a full read of one source replaces only its own groups.
CREATE TABLE course_groups (
    id         INTEGER PRIMARY KEY,
    course_id  INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    lms_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (course_id, source, lms_id)
);

CREATE TABLE course_group_members (
    group_id INTEGER NOT NULL REFERENCES course_groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;

-- The LTI Course Groups service a launch advertised: where the groups' names are read.
ALTER TABLE courses ADD COLUMN groups_url TEXT;
