//! The per-student rollup reads a cohort filter needs: each student-day's views per item,
//! and every item's group (removed items too, as the course-wide rollups count them).

use std::collections::HashMap;

use super::rollups::parse_item_views;
use super::{ContentItemId, CourseId, Store, StoreResult, UserId, on_pool};

/// One student's views of each item (0: tied to no item) on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StudentDayItems {
    pub day: i64,
    pub user_id: UserId,
    pub items: Vec<(ContentItemId, i64)>,
}

impl Store {
    /// The student-days of a range with any views, each with its views per item.
    pub async fn student_day_items(
        &self,
        course: CourseId,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<StudentDayItems>> {
        let rows: Vec<(i64, UserId, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, user_id, item_views FROM rollup_student_day \
                 WHERE course_id = $1 AND day >= $2 AND day < $3 AND item_views <> ''",
            )
            .bind(course)
            .bind(from_day)
            .bind(to_day)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(day, user_id, text)| StudentDayItems {
                day,
                user_id,
                items: parse_item_views(&text)
                    .into_iter()
                    .map(|(item, views)| (ContentItemId(item), views))
                    .collect(),
            })
            .collect())
    }

    /// Every content item's group (`content`, `communication`, `assessment`), removed ones
    /// included.
    pub async fn item_groups(
        &self,
        course: CourseId,
    ) -> StoreResult<HashMap<ContentItemId, String>> {
        let rows: Vec<(ContentItemId, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, item_group FROM content_items WHERE course_id = $1")
                .bind(course)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().collect())
    }
}
