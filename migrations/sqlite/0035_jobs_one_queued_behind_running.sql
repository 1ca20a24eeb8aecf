-- A sync asked for while the course's sync runs waits behind it instead of being dropped:
-- at most one queued and one running job per (kind, key); workers never claim a key that
-- is running (src/store/jobs.rs).
DROP INDEX jobs_one_active;
CREATE UNIQUE INDEX jobs_one_queued ON jobs (kind, dedupe_key) WHERE status = 'queued';
CREATE UNIQUE INDEX jobs_one_running ON jobs (kind, dedupe_key) WHERE status = 'running';
