//! The per-student rollup reads a cohort filter needs: some students' student-days with
//! their views per item, and every item's group (removed items too, as rollups count them).

use std::collections::HashMap;

use super::reports::{ItemDay, StudentDay};
use super::{
    ContentItemId, CourseId, STUDENTS_PER_READ, Store, StoreResult, UserId, by_students_sql,
    on_pool,
};
use crate::activity::item_views::pairs;

impl Store {
    /// Some students' student-days of a range, each with its views per item: what they
    /// add to the course-wide rollups (read by student, then kept to the range), in
    /// student order, then day.
    pub async fn student_days_of(
        &self,
        course: CourseId,
        students: &[UserId],
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<(StudentDay, Vec<(ContentItemId, i64)>)>> {
        let mut days = Vec::new();
        for chunk in students.chunks(STUDENTS_PER_READ) {
            let columns = "day, user_id, views, sessions, active_ms, item_views";
            let sql = match self {
                // Sealed days from the index that holds them by student, in order; the
                // days still being written through the index of those (a seek a row).
                Store::Sqlite(_) => format!(
                    "{} AND sealed = 1 UNION ALL {} AND sealed = 0",
                    by_students_sql(
                        columns,
                        "rollup_student_day INDEXED BY rollup_student_day_sealed",
                        chunk.len()
                    ),
                    by_students_sql(columns, "rollup_student_day", chunk.len()),
                ),
                Store::Postgres(_) => by_students_sql(columns, "rollup_student_day", chunk.len()),
            };
            let mut args = vec![course.0];
            args.extend(chunk.iter().map(|user| user.0));
            let rows: Vec<(i64, UserId, i64, i64, i64, String)> =
                self.read_built_rows(&sql, &args).await?;
            let in_range = rows
                .into_iter()
                .filter(|r| (from_day..to_day).contains(&r.0));
            days.extend(
                in_range.map(|(day, user_id, views, sessions, active_ms, text)| {
                    // Each item once, as the writers (and the migrations' SQL) wrote them.
                    let items = pairs(&text)
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
                }),
            );
        }
        // By student, then day: the sealed days come in that order, the others after.
        days.sort_unstable_by_key(|(d, _)| (d.user_id, d.day));
        Ok(days)
    }

    /// The item-days of a range viewed by at most `most` students.
    pub async fn item_days_viewed_by_few(
        &self,
        course: CourseId,
        from_day: i64,
        to_day: i64,
        most: i64,
    ) -> StoreResult<Vec<ItemDay>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, content_item_id, views, unique_students FROM rollup_content_day \
                 WHERE course_id = $1 AND day >= $2 AND day < $3 AND unique_students <= $4",
            )
            .bind(course)
            .bind(from_day)
            .bind(to_day)
            .bind(most)
            .fetch_all(pool)
            .await
        })?)
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
