//! Read queries behind the outreach lists: the students with who they are and whether they
//! are still enrolled, and per-student facts from the rollups (last active day, item views).

use super::rollups::parse_item_views;
use super::{CourseId, Store, StoreResult, UserId, on_pool};

/// A student of the course with what tells namesakes apart.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RosterStudent {
    pub user_id: UserId,
    pub name: String,
    pub username: Option<String>,
    pub external_id: Option<String>,
    pub lms_sub: String,
    pub email: Option<String>,
    /// False once a roster read says the student left the course.
    pub active: bool,
}

impl Store {
    /// The course's students (staff left out), by name.
    pub async fn roster_students(&self, course: CourseId) -> StoreResult<Vec<RosterStudent>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.name, u.username, u.external_id, u.lms_sub, u.email, \
                 e.active FROM enrolments e JOIN users u ON u.id = e.user_id \
                 WHERE e.course_id = $1 AND NOT e.is_staff ORDER BY u.name, u.id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

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
        let rows: Vec<(UserId, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT user_id, item_views FROM rollup_student_items WHERE course_id = $1",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(user, text)| (user, parse_item_views(&text)))
            .collect())
    }
}
