//! The course-hour rollup read back: each UTC-epoch hour's views by known users, per user
//! and per item, in one row per hour, so a window over many hours reads one row per hour.

use super::{CourseId, Store, StoreResult, on_pool};
use crate::activity::item_views::parse_item_views;

/// One course-hour row read back: (user, views) and (item or 0, views) in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourseHour {
    pub hour: i64,
    pub user_views: Vec<(i64, i64)>,
    pub item_views: Vec<(i64, i64)>,
}

impl Store {
    /// Every course-hour row of a course, in hour order (for recounts).
    pub async fn course_hour_rollups(&self, course: CourseId) -> StoreResult<Vec<CourseHour>> {
        let rows: Vec<(i64, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT hour, user_views, item_views FROM rollup_course_hour \
                 WHERE course_id = $1 ORDER BY hour",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(hour, users, items)| CourseHour {
                hour,
                user_views: parse_item_views(&users),
                item_views: parse_item_views(&items),
            })
            .collect())
    }
}
