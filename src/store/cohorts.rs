//! The per-student rollup reads a cohort filter needs: each student-day's views per item,
//! and every item's group (removed items too, as the course-wide rollups count them).

use std::collections::HashMap;

use super::reports::StudentDay;
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

    /// Some students' student-days of a range, each with its views per item: what they
    /// add to the course-wide rollups (one indexed read per hundred students).
    pub async fn student_days_of(
        &self,
        course: CourseId,
        students: &[UserId],
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<(StudentDay, Vec<(ContentItemId, i64)>)>> {
        let mut days = Vec::new();
        for chunk in students.chunks(100) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
            let sql = format!(
                "SELECT day, user_id, views, sessions, active_ms, item_views FROM rollup_student_day \
                 WHERE course_id = $1 AND day >= $2 AND day < $3 AND user_id IN ({})",
                list.join(", ")
            );
            let rows: Vec<(i64, UserId, i64, i64, i64, String)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(course)
                    .bind(from_day)
                    .bind(to_day);
                for user in chunk {
                    query = query.bind(*user);
                }
                query.fetch_all(pool).await
            })?;
            days.extend(rows.into_iter().map(
                |(day, user_id, views, sessions, active_ms, text)| {
                    let items = parse_item_views(&text)
                        .into_iter()
                        .map(|(item, views)| (ContentItemId(item), views))
                        .collect();
                    (
                        StudentDay {
                            day,
                            user_id,
                            views,
                            sessions,
                            active_ms,
                        },
                        items,
                    )
                },
            ));
        }
        Ok(days)
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
