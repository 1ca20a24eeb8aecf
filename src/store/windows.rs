//! Bounded reads behind event windows in hours: the view events of one stretch of time,
//! read from SQLite's minute packs or PostgreSQL's rows by the (course, instant) key.

use std::collections::{HashMap, HashSet};

use super::activity::ActivityKind;
use super::activity_pack::{minute_of, unpack};
use super::rollups::parse_item_views;
use super::{ContentItemId, CourseEventId, CourseId, EpochMs, Store, StoreResult, UserId, on_pool};

/// One view event: who opened what, when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ViewAt {
    pub user_id: Option<UserId>,
    pub content_item_id: Option<ContentItemId>,
    pub occurred_at: EpochMs,
}

impl Store {
    /// The course's view events in the half-open span [from, to), in time order. The read
    /// is bounded by the span: SQLite reads the packs of its minutes by primary key,
    /// PostgreSQL the rows of its instants by the (course, instant, key) unique index.
    pub async fn views_between(
        &self,
        course: CourseId,
        from: EpochMs,
        to: EpochMs,
    ) -> StoreResult<Vec<ViewAt>> {
        if to.0 <= from.0 {
            return Ok(Vec::new());
        }
        match self {
            Store::Sqlite(db) => {
                let packs: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT minute, events FROM activity_packs WHERE course_id = $1 \
                     AND minute >= $2 AND minute <= $3 ORDER BY minute",
                )
                .bind(course)
                .bind(minute_of(from.0))
                .bind(minute_of(to.0 - 1))
                .fetch_all(&db.pool)
                .await?;
                let mut views = Vec::new();
                for (minute, bytes) in &packs {
                    views.extend(
                        unpack(*minute, bytes)?
                            .into_iter()
                            .filter(|e| e.kind == ActivityKind::View.as_str())
                            .filter(|e| e.occurred_at.0 >= from.0 && e.occurred_at.0 < to.0)
                            .map(|e| ViewAt {
                                user_id: e.user_id,
                                content_item_id: e.content_item_id,
                                occurred_at: e.occurred_at,
                            }),
                    );
                }
                Ok(views)
            }
            Store::Postgres(pool) => Ok(sqlx::query_as(
                "SELECT user_id, content_item_id, occurred_at FROM activity \
                 WHERE course_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
                 AND kind = 'view' ORDER BY occurred_at",
            )
            .bind(course)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?),
        }
    }

    /// The content item of each submission event that comes from a gradebook column
    /// linked to one (the assessment students open).
    pub async fn submission_items(
        &self,
        course: CourseId,
    ) -> StoreResult<HashMap<CourseEventId, ContentItemId>> {
        let rows: Vec<(CourseEventId, ContentItemId)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.id, a.content_item_id FROM course_events e \
                 JOIN assessments a ON a.course_id = e.course_id AND a.lms_id = e.lms_id \
                 WHERE e.course_id = $1 AND e.kind = 'submission' AND e.source = 'gradebook' \
                 AND a.removed_at IS NULL AND a.content_item_id IS NOT NULL",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().collect())
    }

    /// The students who viewed the item on a day before `to_day` (from the student-day
    /// rollup).
    pub async fn item_students_before_day(
        &self,
        course: CourseId,
        item: ContentItemId,
        to_day: i64,
    ) -> StoreResult<HashSet<UserId>> {
        let rows: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT user_id, item_views FROM rollup_student_day \
                 WHERE course_id = $1 AND day < $2 AND item_views <> ''",
            )
            .bind(course)
            .bind(to_day)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .filter(|(_, text)| {
                parse_item_views(text)
                    .iter()
                    .any(|(i, views)| *i == item.0 && *views > 0)
            })
            .map(|(user, _)| UserId(user))
            .collect())
    }
}
