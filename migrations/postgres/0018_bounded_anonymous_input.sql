-- Login states are signed tokens now: an anonymous login writes no row.
DROP TABLE launch_states;

-- Events held for unknown courses expire by age (config key `pending_event_ttl`).
CREATE INDEX pending_activity_received ON pending_activity (received_at);
