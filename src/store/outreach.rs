//! Read queries behind the outreach lists: per-student facts from the rollups (last
//! active day, item views); who the students are comes from `Store::course_people`.

use foldhash::HashMap as FastMap;

use super::{CourseId, Store, StoreResult, UserId};
use crate::activity::item_views::parse_item_views;

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
    /// their day rollups, summed here: SQLite sorts a `GROUP BY` of the course's tens of
    /// thousands of student-days (about three times the scan), a map per student does not.
    pub async fn student_views_split(
        &self,
        course: CourseId,
        from: i64,
        split: i64,
        to: i64,
    ) -> StoreResult<Vec<(UserId, i64, i64)>> {
        let days: Vec<(UserId, i64, i64)> = self
            .read_rows(
                "SELECT user_id, day, views FROM rollup_student_day \
                 WHERE course_id = $1 AND day >= $2 AND day < $3",
                &[course.0, from, to],
            )
            .await?;
        let mut split_views: FastMap<UserId, (i64, i64)> = FastMap::default();
        for (user, day, views) in days {
            let sums = split_views.entry(user).or_default();
            if day < split {
                sums.0 += views;
            } else {
                sums.1 += views;
            }
        }
        Ok(split_views
            .into_iter()
            .map(|(user, (before, after))| (user, before, after))
            .collect())
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
