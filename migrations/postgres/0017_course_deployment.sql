-- A course is (platform, deployment, LTI context id): two deployments of one registration
-- may hold the same context id, and their courses must stay apart.

-- A platform that has courses but no deployment (possible only for rows made before
-- deployments were required) gets one, so that no course is lost.
INSERT INTO deployments (platform_id, deployment_id, created_at)
SELECT DISTINCT c.platform_id, 'unknown (before migration 0017)',
       (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT
FROM courses c
WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.platform_id = c.platform_id);

ALTER TABLE courses ADD COLUMN deployment_id BIGINT REFERENCES deployments(id) ON DELETE CASCADE;
-- Existing courses go to their platform's first registered deployment: the only one in
-- the usual case, and a deterministic choice when an admin registered several (the
-- launches of the other deployments then make courses of their own).
UPDATE courses c
SET deployment_id = (SELECT MIN(d.id) FROM deployments d WHERE d.platform_id = c.platform_id);
ALTER TABLE courses ALTER COLUMN deployment_id SET NOT NULL;

ALTER TABLE courses DROP CONSTRAINT courses_platform_id_lms_context_id_key;
ALTER TABLE courses ADD CONSTRAINT courses_platform_id_deployment_id_lms_context_id_key
    UNIQUE (platform_id, deployment_id, lms_context_id);
CREATE INDEX courses_deployment ON courses (deployment_id);
