-- A student's views per item on a day are kept only on that student-day's row
-- (`rollup_student_day.item_views`, since 0013): the writer tells a student's first view
-- of an item that day from it, and reads of an item's students over a range of days scan
-- the student-days of that range. The per-student, per-item, per-day rows, one B-tree
-- entry written for every new view, go.
DROP TABLE rollup_content_day_students;
