//! Read queries behind the outreach lists: per-student facts from the rollups (last
//! active day, item views); who the students are comes from `Store::course_people`.

use super::{CourseId, Store, StoreResult, UserId};
use crate::activity::item_views::{pairs, parse_item_views};

/// Each student's page views per day over the whole course (see [`Store::student_day_views`]).
const DAY_VIEWS: &str = "SELECT user_id, day_views FROM rollup_student_items WHERE course_id = $1";

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

    /// Each student's views in `[from, split)` and in `[split, to)`, from their views per
    /// day (one row a student, not one a student-day).
    pub async fn student_views_split(
        &self,
        course: CourseId,
        from: i64,
        split: i64,
        to: i64,
    ) -> StoreResult<Vec<(UserId, i64, i64)>> {
        let rows: Vec<(UserId, String)> = self.read_rows(DAY_VIEWS, &[course.0]).await?;
        Ok(rows
            .into_iter()
            .map(|(user, text)| {
                // Summed as the text is read: a thousand students' days are 90,000 pairs.
                let (mut before, mut after) = (0, 0);
                for (day, views) in pairs(&text) {
                    if (from..split).contains(&day) {
                        before += views;
                    } else if (split..to).contains(&day) {
                        after += views;
                    }
                }
                (user, before, after)
            })
            .collect())
    }

    /// Each student's page views per day over the whole course, by day
    /// (`rollup_student_items.day_views`); students with no views are left out.
    pub async fn student_day_views(
        &self,
        course: CourseId,
    ) -> StoreResult<Vec<(UserId, Vec<(i64, i64)>)>> {
        let rows: Vec<(UserId, String)> = self.read_rows(DAY_VIEWS, &[course.0]).await?;
        Ok(rows
            .into_iter()
            .map(|(user, text)| (user, pairs(&text).collect()))
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
