-- The course pages read every post of a course (forum, author, time) for their post
-- counts: an index holding those columns answers that without visiting each post's row.
CREATE INDEX forum_posts_forum_cover
    ON forum_posts (forum_id, posted_at, course_id, user_id, removed_at);
DROP INDEX forum_posts_forum_time;
