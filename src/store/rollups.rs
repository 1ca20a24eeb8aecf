//! Reads of the day rollups, and the course-wide rollups derived afresh from them (how new
//! events change the rollups is `activity::rollup`).

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use serde::Serialize;

use super::{CourseId, Store, StoreResult, on_pool};
use crate::activity::item_views::{item_views_text, parse_item_views};
use crate::store::BeginWrite;

/// One row of the course × day × content item rollup.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, sqlx::FromRow)]
pub struct ContentDay {
    pub day: i64,
    pub content_item_id: i64,
    pub views: i64,
    pub unique_students: i64,
}

/// One row of the course × day × student rollup.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, sqlx::FromRow)]
pub struct StudentDay {
    pub day: i64,
    pub user_id: i64,
    pub views: i64,
    pub sessions: i64,
    pub active_ms: i64,
}

/// A student's views per item over all days (item → views) and per day ((day, views), by
/// day), as `rollup_student_items` keeps them.
type StudentViewTotals = (BTreeMap<i64, i64>, Vec<(i64, i64)>);

/// Statements that derive a course's course-wide rollups from its day rollups, in order;
/// each student's views per item and per day (`rollup_student_items`) and the items' unique
/// students are counted after them, in Rust, from the student-days' `item_views`.
const REBUILD_COURSE_ROLLUPS: [&str; 7] = [
    "DELETE FROM rollup_course_day WHERE course_id = $1",
    "DELETE FROM rollup_student_total WHERE course_id = $1",
    "DELETE FROM rollup_item_total WHERE course_id = $1",
    "DELETE FROM rollup_student_items WHERE course_id = $1",
    "INSERT INTO rollup_course_day (course_id, day, content_views, communication_views, \
     assessment_views, pages_viewed) SELECT r.course_id, r.day, \
     SUM(CASE WHEN ci.item_group IN ('communication', 'assessment') THEN 0 ELSE r.views END), \
     SUM(CASE WHEN ci.item_group = 'communication' THEN r.views ELSE 0 END), \
     SUM(CASE WHEN ci.item_group = 'assessment' THEN r.views ELSE 0 END), \
     SUM(CASE WHEN r.content_item_id <> 0 AND r.views > 0 THEN 1 ELSE 0 END) \
     FROM rollup_content_day r LEFT JOIN content_items ci ON ci.id = r.content_item_id \
     WHERE r.course_id = $1 GROUP BY r.course_id, r.day",
    "INSERT INTO rollup_course_day (course_id, day, active_students, views, sessions, active_ms) \
     SELECT course_id, day, SUM(CASE WHEN views <> 0 OR sessions <> 0 THEN 1 ELSE 0 END), \
     SUM(views), SUM(sessions), SUM(active_ms) \
     FROM rollup_student_day WHERE course_id = $1 GROUP BY course_id, day \
     ON CONFLICT (course_id, day) DO UPDATE SET active_students = excluded.active_students, \
     views = excluded.views, sessions = excluded.sessions, active_ms = excluded.active_ms",
    "INSERT INTO rollup_student_total (course_id, user_id, views, sessions, active_ms, \
     last_view_day) SELECT course_id, user_id, SUM(views), SUM(sessions), SUM(active_ms), \
     MAX(CASE WHEN views > 0 THEN day END) \
     FROM rollup_student_day WHERE course_id = $1 GROUP BY course_id, user_id",
];

/// The items' views from their days; their unique students are set after.
const REBUILD_ITEM_TOTALS: &str = "INSERT INTO rollup_item_total (course_id, content_item_id, \
     views, unique_students) SELECT course_id, content_item_id, SUM(views), 0 \
     FROM rollup_content_day WHERE course_id = $1 GROUP BY course_id, content_item_id";

impl Store {
    /// Derives the course's course-wide rollups afresh from its day rollups, in one
    /// transaction: for day rollups written by other means (a benchmark's seed, a repair).
    pub async fn rebuild_course_rollups(&self, course: CourseId) -> StoreResult<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for statement in REBUILD_COURSE_ROLLUPS {
                sqlx::query(statement).bind(course).execute(&mut *tx).await?;
            }
            let days: Vec<(i64, i64, String)> = sqlx::query_as(
                "SELECT user_id, day, item_views FROM rollup_student_day \
                 WHERE course_id = $1 AND item_views <> '' ORDER BY user_id, day",
            )
            .bind(course)
            .fetch_all(&mut *tx)
            .await?;
            let mut views: BTreeMap<i64, StudentViewTotals> = BTreeMap::new();
            for (user, day, text) in &days {
                let (items, days) = views.entry(*user).or_default();
                let mut that_day = 0;
                for (item, n) in parse_item_views(text) {
                    *items.entry(item).or_default() += n;
                    that_day += n;
                }
                days.push((*day, that_day));
            }
            let mut students_of_item: HashMap<i64, i64> = HashMap::new();
            for (user, (items, days)) in &views {
                for item in items.keys() {
                    *students_of_item.entry(*item).or_default() += 1;
                }
                let items: Vec<(i64, i64)> = items.iter().map(|(i, n)| (*i, *n)).collect();
                sqlx::query(
                    "INSERT INTO rollup_student_items (course_id, user_id, item_views, day_views) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(course)
                .bind(user)
                .bind(item_views_text(&items))
                .bind(item_views_text(days))
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(REBUILD_ITEM_TOTALS).bind(course).execute(&mut *tx).await?;
            for (item, students) in students_of_item {
                sqlx::query(
                    "UPDATE rollup_item_total SET unique_students = $3 \
                     WHERE course_id = $1 AND content_item_id = $2",
                )
                .bind(course)
                .bind(item)
                .bind(students)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Every content-day rollup row of a course, ordered by day and item.
    pub async fn content_day_rollups(&self, course: CourseId) -> StoreResult<Vec<ContentDay>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, content_item_id, views, unique_students FROM rollup_content_day \
                 WHERE course_id = $1 ORDER BY day, content_item_id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Every student-day rollup row of a course with any views or sessions, ordered by day
    /// and user.
    pub async fn student_day_rollups(&self, course: CourseId) -> StoreResult<Vec<StudentDay>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, user_id, views, sessions, active_ms FROM rollup_student_day \
                 WHERE course_id = $1 AND (views <> 0 OR sessions <> 0 OR active_ms <> 0) \
                 ORDER BY day, user_id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }
}
