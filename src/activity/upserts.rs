//! The upserts both engines' writers add a batch's rollup changes with: each is (insert
//! prefix up to `VALUES`, number of columns, conflict clause), so SQLite binds one row per
//! statement and PostgreSQL whole columns (`UNNEST`) with the same SQL around them.

/// The course-wide rollups: each adds a batch's changes.
pub(crate) const ADD_COURSE_DAYS: (&str, usize, &str) = (
    "INSERT INTO rollup_course_day (course_id, day, content_views, communication_views, \
     assessment_views, pages_viewed, active_students, views, sessions, active_ms) VALUES ",
    10,
    "ON CONFLICT (course_id, day) DO UPDATE SET \
     content_views = rollup_course_day.content_views + excluded.content_views, \
     communication_views = rollup_course_day.communication_views + excluded.communication_views, \
     assessment_views = rollup_course_day.assessment_views + excluded.assessment_views, \
     pages_viewed = rollup_course_day.pages_viewed + excluded.pages_viewed, \
     active_students = rollup_course_day.active_students + excluded.active_students, \
     views = rollup_course_day.views + excluded.views, \
     sessions = rollup_course_day.sessions + excluded.sessions, \
     active_ms = rollup_course_day.active_ms + excluded.active_ms",
);
pub(crate) const ADD_STUDENT_TOTALS: (&str, usize, &str) = (
    "INSERT INTO rollup_student_total (course_id, user_id, views, sessions, active_ms, \
     last_view_day) VALUES ",
    6,
    "ON CONFLICT (course_id, user_id) DO UPDATE SET \
     views = rollup_student_total.views + excluded.views, \
     sessions = rollup_student_total.sessions + excluded.sessions, \
     active_ms = rollup_student_total.active_ms + excluded.active_ms, \
     last_view_day = CASE WHEN rollup_student_total.last_view_day IS NULL \
         OR excluded.last_view_day > rollup_student_total.last_view_day \
         THEN excluded.last_view_day ELSE rollup_student_total.last_view_day END",
);
pub(crate) const ADD_ITEM_TOTALS: (&str, usize, &str) = (
    "INSERT INTO rollup_item_total (course_id, content_item_id, views, unique_students) VALUES ",
    4,
    "ON CONFLICT (course_id, content_item_id) DO UPDATE SET \
     views = rollup_item_total.views + excluded.views, \
     unique_students = rollup_item_total.unique_students + excluded.unique_students",
);
/// The upsert that adds a batch's student-hour rows: (insert prefix up to `VALUES`, number
/// of columns, conflict clause). Both texts are appended to, so no row is read first.
pub(crate) const ADD_STUDENT_HOURS: (&str, usize, &str) = (
    "INSERT INTO rollup_student_hour (course_id, hour, user_id, item_views, instants) VALUES ",
    5,
    "ON CONFLICT (course_id, hour, user_id) DO UPDATE SET \
     item_views = rollup_student_hour.item_views || ',' || excluded.item_views, \
     instants = rollup_student_hour.instants || ',' || excluded.instants",
);

/// The upsert that writes course-hour rows whole (read, merged and written back under the
/// course's one writer): (insert prefix up to `VALUES`, number of columns, conflict clause).
pub(crate) const PUT_COURSE_HOURS: (&str, usize, &str) = (
    "INSERT INTO rollup_course_hour (course_id, hour, user_views, item_views) VALUES ",
    4,
    "ON CONFLICT (course_id, hour) DO UPDATE SET \
     user_views = excluded.user_views, item_views = excluded.item_views",
);
