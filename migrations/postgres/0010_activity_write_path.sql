-- Cheaper writes of activity: an event is identified by its course, instant and key, so
-- new rows land near the end of the unique index instead of at random places, and that
-- index also serves the course's latest event. Views of one item's viewers read
-- `rollup_item_students.views`, so activity no longer keeps an index per item and user.
ALTER TABLE activity DROP CONSTRAINT activity_course_id_idempotency_key_key;
ALTER TABLE activity ADD CONSTRAINT activity_event_key
    UNIQUE (course_id, occurred_at, idempotency_key);
DROP INDEX activity_course_time;
DROP INDEX activity_course_item_user;

-- How often each student viewed each item, over all days.
ALTER TABLE rollup_item_students ADD COLUMN views BIGINT NOT NULL DEFAULT 0;
UPDATE rollup_item_students r SET views = v.views
FROM (SELECT course_id, COALESCE(content_item_id, 0) AS content_item_id, user_id,
             COUNT(*) AS views
      FROM activity WHERE kind = 'view' AND user_id IS NOT NULL
      GROUP BY course_id, COALESCE(content_item_id, 0), user_id) v
WHERE v.course_id = r.course_id AND v.content_item_id = r.content_item_id
  AND v.user_id = r.user_id;
