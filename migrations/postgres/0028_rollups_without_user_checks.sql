-- Student-days and sessions no longer check their user against `users` as they are
-- written: the writer adds a row for nearly every student and session of an import, and
-- each check was a lookup and a trigger call. The writer takes user ids from rows it has
-- just found or made, and users are never deleted (as for events since 0026); the
-- course check, which deletes a platform's rollups with it, stays.
ALTER TABLE rollup_student_day DROP CONSTRAINT rollup_student_day_user_id_fkey;
ALTER TABLE student_sessions DROP CONSTRAINT student_sessions_user_id_fkey;
