//! What the LTI Assignment and Grade Services give: line items as assessments (source
//! `ags`), their due dates as submission events, and results as grades.

use std::collections::HashSet;

use super::sync_runs::SyncCounts;
use super::{AssessmentId, CourseId, EpochMs, PlatformId, Store, StoreResult, UserId, on_pool};
use crate::store::BeginWrite;

/// One line item as the container lists it.
#[derive(Clone, Debug)]
pub struct LineItemRow {
    /// The line item's URL, its id.
    pub lms_id: String,
    pub name: String,
    pub points_possible: Option<f64>,
    /// `startDateTime`: when submissions open.
    pub opens_at: Option<EpochMs>,
    /// `endDateTime`: the due date.
    pub due_at: Option<EpochMs>,
}

/// One result on a line item.
#[derive(Clone, Debug)]
pub struct AgsResultRow {
    /// The student's LTI subject.
    pub lms_sub: String,
    /// On the line item's scale.
    pub score: Option<f64>,
    pub graded_at: Option<EpochMs>,
}

impl Store {
    /// Makes the course's AGS assessments match `rows` (every line item): upserts them,
    /// keeps one submission event (source `ags`) per line item with an end date, marks
    /// absent ones removed and drops their events.
    pub async fn sync_ags_line_items(
        &self,
        course: CourseId,
        rows: &[LineItemRow],
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashSet<String> = sqlx::query_scalar::<_, String>(
                "SELECT lms_id FROM assessments WHERE course_id = $1 AND source = 'ags'",
            )
            .bind(course)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            for row in rows {
                let changed = sqlx::query(
                    "INSERT INTO assessments (course_id, lms_id, source, name, points_possible, \
                     due_at, created_at, updated_at) VALUES ($1, $2, 'ags', $3, $4, $5, $6, $6) \
                     ON CONFLICT (course_id, lms_id) DO UPDATE SET name = excluded.name, \
                     points_possible = excluded.points_possible, due_at = excluded.due_at, \
                     removed_at = NULL, updated_at = excluded.updated_at \
                     WHERE assessments.name <> excluded.name \
                     OR assessments.points_possible IS DISTINCT FROM excluded.points_possible \
                     OR assessments.due_at IS DISTINCT FROM excluded.due_at \
                     OR assessments.removed_at IS NOT NULL",
                )
                .bind(course)
                .bind(&row.lms_id)
                .bind(&row.name)
                .bind(row.points_possible)
                .bind(row.due_at)
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
                             VALUES ($1, 'submission', 'ags', $2, $3, $4, $5, 'assignment', $6, $6) \
                             ON CONFLICT (course_id, source, lms_id) DO UPDATE SET title = excluded.title, \
                             starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
                             updated_at = excluded.updated_at",
                        )
                        .bind(course)
                        .bind(&row.lms_id)
                        .bind(&row.name)
                        .bind(row.opens_at.filter(|o| o.0 <= due.0).unwrap_or(due))
                        .bind(due)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query(
                            "DELETE FROM course_events WHERE course_id = $1 AND source = 'ags' AND lms_id = $2",
                        )
                        .bind(course)
                        .bind(&row.lms_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            let fetched: HashSet<&str> = rows.iter().map(|r| r.lms_id.as_str()).collect();
            for gone in existing.iter().filter(|id| !fetched.contains(id.as_str())) {
                counts.removed += sqlx::query(
                    "UPDATE assessments SET removed_at = $3, updated_at = $3 \
                     WHERE course_id = $1 AND lms_id = $2 AND source = 'ags' AND removed_at IS NULL",
                )
                .bind(course)
                .bind(gone)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
                sqlx::query(
                    "DELETE FROM course_events WHERE course_id = $1 AND source = 'ags' AND lms_id = $2",
                )
                .bind(course)
                .bind(gone)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// Upserts the grades of one AGS line item. A result for a subject cloop has not met
    /// yet creates the user, to be named by the next roster read.
    pub async fn sync_ags_results(
        &self,
        platform: PlatformId,
        course: CourseId,
        line_item: &str,
        rows: &[AgsResultRow],
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let assessment: AssessmentId = sqlx::query_scalar(
                "SELECT id FROM assessments WHERE course_id = $1 AND lms_id = $2",
            )
            .bind(course)
            .bind(line_item)
            .fetch_one(&mut *tx)
            .await?;
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
                let user: UserId = sqlx::query_scalar(
                    "INSERT INTO users (platform_id, lms_sub, created_at, updated_at) \
                     VALUES ($1, $2, $3, $3) ON CONFLICT (platform_id, lms_sub) \
                     DO UPDATE SET lms_sub = excluded.lms_sub RETURNING id",
                )
                .bind(platform)
                .bind(&row.lms_sub)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let changed = sqlx::query(
                    "INSERT INTO grades (assessment_id, user_id, score, graded_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (assessment_id, user_id) DO UPDATE SET \
                     score = excluded.score, graded_at = excluded.graded_at, \
                     updated_at = excluded.updated_at \
                     WHERE grades.score IS DISTINCT FROM excluded.score \
                     OR grades.graded_at IS DISTINCT FROM excluded.graded_at",
                )
                .bind(assessment)
                .bind(user)
                .bind(row.score)
                .bind(row.graded_at)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains(&user));
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }
}
