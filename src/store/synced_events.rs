//! Course events that come from the LMS: calendar items (source `calendar`). Submission
//! events from gradebook due dates live with the gradebook.

use std::collections::HashSet;

use serde::Serialize;

use super::sync_runs::SyncCounts;
use super::{CourseEventId, CourseId, EpochMs, Store, StoreResult, on_pool};
use crate::store::BeginWrite;

/// One calendar item of the course.
#[derive(Clone, Debug)]
pub struct CalendarRow {
    pub lms_id: String,
    pub title: String,
    pub starts_at: EpochMs,
    pub ends_at: Option<EpochMs>,
}

/// An event cloop took from the LMS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SyncedEvent {
    pub id: CourseEventId,
    pub kind: String,
    pub source: String,
    pub lms_id: Option<String>,
    pub title: String,
    pub starts_at: Option<EpochMs>,
    pub ends_at: Option<EpochMs>,
    pub submission_type: Option<String>,
}

impl Store {
    /// Makes the course's calendar events that start within [from, until) match `rows`,
    /// the complete list for that window.
    pub async fn sync_calendar_events(
        &self,
        course: CourseId,
        from: EpochMs,
        until: EpochMs,
        rows: &[CalendarRow],
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashSet<String> = sqlx::query_scalar::<_, String>(
                "SELECT lms_id FROM course_events WHERE course_id = $1 AND source = 'calendar' \
                 AND starts_at >= $2 AND starts_at < $3",
            )
            .bind(course)
            .bind(from)
            .bind(until)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            for row in rows {
                let changed = sqlx::query(
                    "INSERT INTO course_events (course_id, kind, source, lms_id, title, starts_at, ends_at, \
                     created_at, updated_at) VALUES ($1, 'single', 'calendar', $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (course_id, source, lms_id) DO UPDATE SET title = excluded.title, \
                     starts_at = excluded.starts_at, ends_at = excluded.ends_at, updated_at = excluded.updated_at \
                     WHERE course_events.title <> excluded.title \
                     OR course_events.starts_at IS DISTINCT FROM excluded.starts_at \
                     OR course_events.ends_at IS DISTINCT FROM excluded.ends_at",
                )
                .bind(course)
                .bind(&row.lms_id)
                .bind(&row.title)
                .bind(row.starts_at)
                .bind(row.ends_at)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains(&row.lms_id));
            }
            let fetched: HashSet<&str> = rows.iter().map(|r| r.lms_id.as_str()).collect();
            for gone in existing.iter().filter(|id| !fetched.contains(id.as_str())) {
                counts.removed += sqlx::query(
                    "DELETE FROM course_events WHERE course_id = $1 AND source = 'calendar' AND lms_id = $2",
                )
                .bind(course)
                .bind(gone)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// The course's events that came from the LMS (gradebook and calendar), by start.
    pub async fn synced_events(&self, course: CourseId) -> StoreResult<Vec<SyncedEvent>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, kind, source, lms_id, title, starts_at, ends_at, submission_type \
                 FROM course_events WHERE course_id = $1 AND source IN ('gradebook', 'calendar') \
                 ORDER BY starts_at, id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }
}
