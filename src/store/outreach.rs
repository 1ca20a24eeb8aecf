//! Read queries behind the outreach lists: per-student facts from the rollups (last
//! active day, item views); who the students are comes from `Store::course_people`.

use super::rollups::parse_item_views;
use super::{CourseId, Store, StoreResult, UserId};

impl Store {
    /// Each student's last local day with a page view (kept in `rollup_student_total`).
    pub async fn last_active_days(&self, course: CourseId) -> StoreResult<Vec<(UserId, i64)>> {
        self.read_rows(
            "SELECT user_id, last_view_day FROM rollup_student_total \
             WHERE course_id = $1 AND last_view_day IS NOT NULL",
            &[course.0],
        )
        .await
    }

    /// Each student's views in `[from, split)` and in `[split, to)`, in one pass over
    /// their day rollups.
    pub async fn student_views_split(
        &self,
        course: CourseId,
        from: i64,
        split: i64,
        to: i64,
    ) -> StoreResult<Vec<(UserId, i64, i64)>> {
        self.read_rows(
            "SELECT user_id, \
             CAST(SUM(CASE WHEN day < $3 THEN views ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN day >= $3 THEN views ELSE 0 END) AS BIGINT) \
             FROM rollup_student_day WHERE course_id = $1 AND day >= $2 AND day < $4 \
             GROUP BY user_id",
            &[course.0, from, split, to],
        )
        .await
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
