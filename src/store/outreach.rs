//! Read queries behind the outreach lists: per-student facts from the rollups (last
//! active day, item views); who the students are comes from `Store::course_people`.

use super::rollups::parse_item_views;
use super::{CourseId, Store, StoreResult, UserId, on_pool};

impl Store {
    /// Each student's last local day with a page view (from `rollup_student_day`).
    pub async fn last_active_days(&self, course: CourseId) -> StoreResult<Vec<(UserId, i64)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT user_id, MAX(day) FROM rollup_student_day \
                 WHERE course_id = $1 AND views > 0 GROUP BY user_id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Each student's views per item over the whole course (`rollup_student_items`).
    pub async fn student_items(
        &self,
        course: CourseId,
    ) -> StoreResult<Vec<(UserId, Vec<(i64, i64)>)>> {
        Ok(self
            .student_item_rows(course)
            .await?
            .into_iter()
            .map(|(user, text)| (user, parse_item_views(&text)))
            .collect())
    }
}
