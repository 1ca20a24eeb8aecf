//! Gradebook columns (assessments), their due dates as submission events, attempts and
//! grades. Each attempt is also recorded once as `attempt` activity.

use std::collections::HashSet;

use serde::Serialize;

use super::sync_runs::SyncCounts;
use super::{AssessmentId, ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId, on_pool};
use crate::activity::{ActivityCursor, ActivityKind, ActivitySource, NewActivity};
use crate::store::BeginWrite;

/// One grade column as fetched from the LMS.
#[derive(Clone, Debug)]
pub struct ColumnRow {
    pub lms_id: String,
    pub name: String,
    pub content_item: Option<ContentItemId>,
    pub points_possible: Option<f64>,
    pub due_at: Option<EpochMs>,
    pub lms_modified: Option<EpochMs>,
    /// A test or quiz rather than an assignment (the kind of submission event).
    pub is_quiz: bool,
}

/// A grade column as cloop holds it.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct Assessment {
    pub id: AssessmentId,
    pub lms_id: String,
    pub name: String,
    pub content_item_id: Option<ContentItemId>,
    pub points_possible: Option<f64>,
    pub due_at: Option<EpochMs>,
    pub change_index: Option<i64>,
    pub removed_at: Option<EpochMs>,
}

/// One attempt on a column.
#[derive(Clone, Debug)]
pub struct AttemptRow {
    pub lms_id: String,
    pub user: UserId,
    pub status: String,
    pub score: Option<f64>,
    pub attempted_at: Option<EpochMs>,
    pub submitted_at: Option<EpochMs>,
    pub created_at: Option<EpochMs>,
    pub lms_modified: Option<EpochMs>,
}

/// One student's grade on a column.
#[derive(Clone, Debug)]
pub struct GradeRow {
    pub user: UserId,
    pub score: Option<f64>,
    pub text_grade: Option<String>,
    pub change_index: Option<i64>,
}

/// Drops the submission event of a column (inside the caller's transaction).
macro_rules! delete_gradebook_event {
    ($tx:expr, $course:expr, $lms_id:expr) => {
        sqlx::query(
            "DELETE FROM course_events WHERE course_id = $1 AND source = 'gradebook' AND lms_id = $2",
        )
        .bind($course)
        .bind($lms_id)
        .execute(&mut *$tx)
        .await?
    };
}

impl Store {
    /// Makes the course's columns match `rows` (the complete list): upserts them, keeps one
    /// submission event (source `gradebook`) per column with a due date, marks absent
    /// columns removed and drops their events.
    pub async fn sync_assessments(
        &self,
        course: CourseId,
        rows: &[ColumnRow],
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashSet<String> = sqlx::query_scalar::<_, String>(
                "SELECT lms_id FROM assessments WHERE course_id = $1 AND source = 'gradebook'",
            )
            .bind(course)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            for row in rows {
                let changed = sqlx::query(
                    "INSERT INTO assessments (course_id, lms_id, source, content_item_id, name, \
                     points_possible, due_at, lms_modified, created_at, updated_at) \
                     VALUES ($1, $2, 'gradebook', $3, $4, $5, $6, $7, $8, $8) \
                     ON CONFLICT (course_id, lms_id) DO UPDATE SET content_item_id = excluded.content_item_id, \
                     name = excluded.name, points_possible = excluded.points_possible, \
                     due_at = excluded.due_at, lms_modified = excluded.lms_modified, removed_at = NULL, \
                     updated_at = excluded.updated_at \
                     WHERE assessments.name <> excluded.name \
                     OR assessments.content_item_id IS DISTINCT FROM excluded.content_item_id \
                     OR assessments.points_possible IS DISTINCT FROM excluded.points_possible \
                     OR assessments.due_at IS DISTINCT FROM excluded.due_at \
                     OR assessments.lms_modified IS DISTINCT FROM excluded.lms_modified \
                     OR assessments.removed_at IS NOT NULL",
                )
                .bind(course)
                .bind(&row.lms_id)
                .bind(row.content_item)
                .bind(&row.name)
                .bind(row.points_possible)
                .bind(row.due_at)
                .bind(row.lms_modified)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains(&row.lms_id));
                match row.due_at {
                    Some(due) => {
                        sqlx::query(
                            "INSERT INTO course_events (course_id, kind, source, lms_id, title, starts_at, \
                             ends_at, submission_type, created_at, updated_at) \
                             VALUES ($1, 'submission', 'gradebook', $2, $3, $4, $4, $5, $6, $6) \
                             ON CONFLICT (course_id, source, lms_id) DO UPDATE SET title = excluded.title, \
                             starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
                             submission_type = excluded.submission_type, updated_at = excluded.updated_at",
                        )
                        .bind(course)
                        .bind(&row.lms_id)
                        .bind(&row.name)
                        .bind(due)
                        .bind(if row.is_quiz { "quiz" } else { "assignment" })
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        delete_gradebook_event!(tx, course, &row.lms_id);
                    }
                }
            }
            let fetched: HashSet<&str> = rows.iter().map(|r| r.lms_id.as_str()).collect();
            for gone in existing.iter().filter(|id| !fetched.contains(id.as_str())) {
                counts.removed += sqlx::query(
                    "UPDATE assessments SET removed_at = $3, updated_at = $3 \
                     WHERE course_id = $1 AND lms_id = $2 AND removed_at IS NULL",
                )
                .bind(course)
                .bind(gone)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
                delete_gradebook_event!(tx, course, gone);
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// The course's gradebook columns, removed ones included.
    pub async fn assessments(&self, course: CourseId) -> StoreResult<Vec<Assessment>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, lms_id, name, content_item_id, points_possible, due_at, change_index, \
                 removed_at FROM assessments WHERE course_id = $1 ORDER BY id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Remembers the highest grade change index seen on the column.
    pub async fn set_assessment_change_index(
        &self,
        assessment: AssessmentId,
        change_index: i64,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE assessments SET change_index = $2 WHERE id = $1")
                .bind(assessment)
                .bind(change_index)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Upserts attempts on one column and records each once as `attempt` activity (source
    /// `gradebook`, idempotency key `bb-attempt:<lms id>`), at the attempt's creation: an
    /// event is identified by its instant and key, so the instant must not move when the
    /// attempt is later submitted. The activity is written once the attempts are, through
    /// the activity writer; no rollup counts it.
    pub async fn sync_attempts(
        &self,
        course: CourseId,
        assessment: &Assessment,
        rows: &[AttemptRow],
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashSet<String> = sqlx::query_scalar::<_, String>(
                "SELECT lms_id FROM attempts WHERE assessment_id = $1",
            )
            .bind(assessment.id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            for row in rows {
                let changed = sqlx::query(
                    "INSERT INTO attempts (assessment_id, user_id, lms_id, status, score, attempted_at, \
                     submitted_at, lms_modified, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                     ON CONFLICT (assessment_id, lms_id) DO UPDATE SET status = excluded.status, \
                     score = excluded.score, attempted_at = excluded.attempted_at, \
                     submitted_at = excluded.submitted_at, lms_modified = excluded.lms_modified, \
                     updated_at = excluded.updated_at \
                     WHERE attempts.status <> excluded.status \
                     OR attempts.score IS DISTINCT FROM excluded.score \
                     OR attempts.submitted_at IS DISTINCT FROM excluded.submitted_at \
                     OR attempts.lms_modified IS DISTINCT FROM excluded.lms_modified",
                )
                .bind(assessment.id)
                .bind(row.user)
                .bind(&row.lms_id)
                .bind(&row.status)
                .bind(row.score)
                .bind(row.attempted_at)
                .bind(row.submitted_at)
                .bind(row.lms_modified)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains(&row.lms_id));
            }
            tx.commit().await?;
            counts
        });
        let attempted: Vec<NewActivity> = rows
            .iter()
            .filter_map(|row| {
                Some(NewActivity {
                    user: Some(row.user),
                    content_item: assessment.content_item_id,
                    kind: ActivityKind::Attempt,
                    occurred_at: row.created_at.or(row.attempted_at).or(row.submitted_at)?,
                    source: ActivitySource::Gradebook,
                    idempotency_key: format!("bb-attempt:{}", row.lms_id),
                    session_ref: None,
                })
            })
            .collect();
        self.record_activity_without_rollups(course, &attempted)
            .await?;
        Ok(counts)
    }

    /// Upserts grades on one column.
    pub async fn sync_grades(
        &self,
        assessment: AssessmentId,
        rows: &[GradeRow],
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashSet<UserId> = sqlx::query_scalar::<_, UserId>(
                "SELECT user_id FROM grades WHERE assessment_id = $1",
            )
            .bind(assessment)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            for row in rows {
                let changed = sqlx::query(
                    "INSERT INTO grades (assessment_id, user_id, score, text_grade, change_index, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (assessment_id, user_id) DO UPDATE SET \
                     score = excluded.score, text_grade = excluded.text_grade, \
                     change_index = excluded.change_index, updated_at = excluded.updated_at \
                     WHERE grades.change_index IS DISTINCT FROM excluded.change_index \
                     OR grades.score IS DISTINCT FROM excluded.score",
                )
                .bind(assessment)
                .bind(row.user)
                .bind(row.score)
                .bind(&row.text_grade)
                .bind(row.change_index)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains(&row.user));
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// Attempts stored for the course, across its columns.
    pub async fn attempt_count(&self, course: CourseId) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM attempts t JOIN assessments a ON a.id = t.assessment_id \
                 WHERE a.course_id = $1",
            )
            .bind(course)
            .fetch_one(pool)
            .await
        })?)
    }

    /// Activity rows of one kind and source in the course.
    pub async fn activity_count(
        &self,
        course: CourseId,
        kind: ActivityKind,
        source: ActivitySource,
    ) -> StoreResult<i64> {
        let mut cursor = ActivityCursor::default();
        let mut count = 0;
        loop {
            let page = self.activity_page(course, &mut cursor).await?;
            if page.is_empty() {
                return Ok(count);
            }
            count += page
                .iter()
                .filter(|e| e.kind == kind && e.source == source)
                .count() as i64;
        }
    }
}
