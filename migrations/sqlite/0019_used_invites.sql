-- Dynamic-registration invites already used: an invite registers one platform. A row is
-- kept until the invite would have expired anyway, then purged by the maintenance task.
CREATE TABLE used_invites (
    invite_hash TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX used_invites_expiry ON used_invites (expires_at);
