-- Events no longer check their user and content item against those tables as they are
-- written: two lookups and two trigger calls per event were most of an import's time on
-- PostgreSQL. The writer takes both ids from rows it has just found or made, neither is
-- ever deleted (items the LMS drops are marked removed), and a platform's removal deletes
-- its courses' events through the course, whose check stays (as on SQLite, where events
-- are packed per minute and check nothing but their course).
ALTER TABLE activity DROP CONSTRAINT activity_user_id_fkey;
ALTER TABLE activity DROP CONSTRAINT activity_content_item_id_fkey;
