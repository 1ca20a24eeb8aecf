-- AGS read and Blackboard 3-legged REST: the AGS scopes the course's launches granted, the
-- one-click authorisation offered to staff after a Blackboard launch, and the single-use
-- states of the authorization code flow (PKCE verifier sealed).
ALTER TABLE courses ADD COLUMN ags_scopes TEXT;

CREATE TABLE rest_grant_offers (
    course_id     INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_token TEXT NOT NULL,
    error         TEXT,
    expires_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (course_id, user_id)
);

CREATE TABLE rest_grant_states (
    state_hash    TEXT PRIMARY KEY,
    platform_id   INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    course_id     INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    code_verifier TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX rest_grant_states_expiry ON rest_grant_states (expires_at);
