-- A cohort's pages (a tutorial group, one student) read only their people's posts: an
-- index by author, holding what those reads select, finds them without the course's rest.
CREATE INDEX forum_posts_author
    ON forum_posts (course_id, user_id, posted_at, forum_id, removed_at);
