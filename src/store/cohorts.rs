//! The per-student rollup reads a cohort filter needs: some students' student-days with
//! their views per item, and every item's group (removed items too, as rollups count them).

use std::collections::HashMap;

use sqlx::Row as _;
use sqlx::postgres::PgRow;

use super::bulk_read::SqliteRow;
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
            let rows: Vec<DayViews> = self.read_built_rows(&sql, &args).await?;
            days.extend(
                rows.into_iter()
                    .filter(|r| (from_day..to_day).contains(&r.0.day))
                    .map(|DayViews(day, items)| (day, items)),
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
        let rows: Vec<(ContentItemId, String)> = self
            .read_rows(
                "SELECT id, item_group FROM content_items WHERE course_id = $1",
                &[course.0],
            )
            .await?;
        Ok(rows.into_iter().collect())
    }
}

/// A student-day as the group read selects it (day, student, views, sessions, active time,
/// views per item), its views per item decoded from the stored text where it lies.
struct DayViews(StudentDay, Vec<(ContentItemId, i64)>);

impl DayViews {
    fn new(day: [i64; 5], item_views: &str) -> Self {
        let [day, user_id, views, sessions, active_ms] = day;
        // Each item once, as the writers (and the migrations' SQL) wrote them.
        let mut items = Vec::with_capacity(item_views.bytes().filter(|&b| b == b',').count() + 1);
        items.extend(pairs(item_views).map(|(item, views)| (ContentItemId(item), views)));
        let day = StudentDay {
            day,
            user_id: UserId(user_id),
            views,
            sessions,
            active_ms,
        };
        Self(day, items)
    }
}

impl SqliteRow for DayViews {
    fn decode(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let int = |i| row.get::<_, i64>(i);
        let item_views = row.get_ref(5)?.as_str()?;
        Ok(Self::new(
            [int(0)?, int(1)?, int(2)?, int(3)?, int(4)?],
            item_views,
        ))
    }
}

impl<'r> sqlx::FromRow<'r, PgRow> for DayViews {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let int = |i| row.try_get::<i64, _>(i);
        let item_views: &str = row.try_get(5)?;
        Ok(Self::new(
            [int(0)?, int(1)?, int(2)?, int(3)?, int(4)?],
            item_views,
        ))
    }
}
