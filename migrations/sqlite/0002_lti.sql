-- LTI launch: the platform-storage frame a login asked for (state is then bound through
-- postMessage instead of a cookie), and the origins that frame cloop (for CSP).
ALTER TABLE launch_states ADD COLUMN storage_target TEXT;
ALTER TABLE platforms ADD COLUMN frame_origins TEXT NOT NULL DEFAULT '';
