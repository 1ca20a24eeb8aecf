//! Sync bookkeeping: one row per course sync run (counts, calls, stages done, error) and
//! the per-platform daily count of REST calls.

use serde::Serialize;

use super::{CourseId, EpochMs, PlatformId, Store, StoreResult, SyncRunId, on_pool};

/// Rows a sync stage inserted, updated and marked removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    pub inserted: i64,
    pub updated: i64,
    pub removed: i64,
}

impl SyncCounts {
    /// Counts one upsert that affected `rows` rows of a key that `existed` before the sync.
    pub fn upserted(&mut self, rows: u64, existed: bool) {
        if rows > 0 {
            if existed {
                self.updated += 1;
            } else {
                self.inserted += 1;
            }
        }
    }
}

impl std::ops::AddAssign for SyncCounts {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.removed += other.removed;
    }
}

/// How a run ended (or that it has not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// Stopped because the daily call budget ran low; the next run resumes it.
    Paused,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Paused => "paused",
        }
    }
}

/// One sync run of a course.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SyncRun {
    pub id: SyncRunId,
    pub course_id: CourseId,
    pub kind: String,
    pub status: String,
    pub started_at: EpochMs,
    pub finished_at: Option<EpochMs>,
    pub calls: i64,
    pub inserted: i64,
    pub updated: i64,
    pub removed: i64,
    /// Stages already done, comma-separated, so an interrupted run resumes after them.
    pub cursor: Option<String>,
    pub error: Option<String>,
}

impl SyncRun {
    pub fn counts(&self) -> SyncCounts {
        SyncCounts {
            inserted: self.inserted,
            updated: self.updated,
            removed: self.removed,
        }
    }

    pub fn stages_done(&self) -> Vec<String> {
        self.cursor
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// A course with its latest run, for the admin page.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct CourseSyncStatus {
    pub course_id: CourseId,
    pub platform_id: PlatformId,
    pub title: String,
    pub code: String,
    pub run_status: Option<String>,
    pub kind: Option<String>,
    pub started_at: Option<EpochMs>,
    pub finished_at: Option<EpochMs>,
    pub calls: Option<i64>,
    pub inserted: Option<i64>,
    pub updated: Option<i64>,
    pub removed: Option<i64>,
    pub error: Option<String>,
}

macro_rules! run_columns {
    () => {
        "id, course_id, kind, status, started_at, finished_at, calls, inserted, updated, \
         removed, cursor, error"
    };
}

impl Store {
    /// Opens a run for the course.
    pub async fn start_sync_run(&self, course: CourseId, kind: &str) -> StoreResult<SyncRun> {
        let sql = concat!(
            "INSERT INTO sync_runs (course_id, kind, status, started_at) \
             VALUES ($1, $2, 'running', $3) RETURNING ",
            run_columns!()
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql).bind(course).bind(kind).bind(EpochMs::now()).fetch_one(pool).await
        })?)
    }

    /// Marks a running or paused run as running again, to resume it after its done stages.
    pub async fn resume_sync_run(&self, run: SyncRunId) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE sync_runs SET status = 'running', finished_at = NULL, error = NULL WHERE id = $1")
                .bind(run)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Adds a finished stage's calls and counts to the run and records it as done.
    pub async fn record_sync_stage(
        &self,
        run: SyncRunId,
        stage: &str,
        calls: i64,
        counts: SyncCounts,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE sync_runs SET calls = calls + $2, inserted = inserted + $3, \
                 updated = updated + $4, removed = removed + $5, \
                 cursor = CASE WHEN cursor IS NULL OR cursor = '' THEN $6 ELSE cursor || ',' || $6 END \
                 WHERE id = $1",
            )
            .bind(run)
            .bind(calls)
            .bind(counts.inserted)
            .bind(counts.updated)
            .bind(counts.removed)
            .bind(stage)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Adds calls made while redoing a stage already recorded (a resumed run's course stage).
    pub async fn add_sync_calls(&self, run: SyncRunId, calls: i64) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE sync_runs SET calls = calls + $2 WHERE id = $1")
                .bind(run)
                .bind(calls)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Closes a run with its final status; `calls` are those not yet recorded by a stage.
    pub async fn finish_sync_run(
        &self,
        run: SyncRunId,
        status: RunStatus,
        calls: i64,
        error: Option<&str>,
    ) -> StoreResult<SyncRun> {
        let sql = concat!(
            "UPDATE sync_runs SET status = $2, calls = calls + $3, error = $4, finished_at = $5 \
             WHERE id = $1 RETURNING ",
            run_columns!()
        );
        let finished: SyncRun = on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(run)
                .bind(status.as_str())
                .bind(calls)
                .bind(error)
                .bind(EpochMs::now())
                .fetch_one(pool)
                .await
        })?;
        let took = finished
            .finished_at
            .map_or(0, |at| at.0 - finished.started_at.0);
        metrics::counter!("cloop_sync_runs_total", "status" => status.as_str()).increment(1);
        metrics::histogram!("cloop_sync_run_duration_seconds", "status" => status.as_str())
            .record(took as f64 / 1e3);
        Ok(finished)
    }

    /// The course's most recent run.
    pub async fn latest_sync_run(&self, course: CourseId) -> StoreResult<Option<SyncRun>> {
        let sql = concat!(
            "SELECT ",
            run_columns!(),
            " FROM sync_runs WHERE course_id = $1 ORDER BY id DESC LIMIT 1"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(course).fetch_optional(pool).await)?)
    }

    /// When the last run that completed every stage started (of `kind`, when given):
    /// later runs ask for changes since then.
    pub async fn last_successful_sync_start(
        &self,
        course: CourseId,
        kind: Option<&str>,
    ) -> StoreResult<Option<EpochMs>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT MAX(started_at) FROM sync_runs WHERE course_id = $1 AND status = 'succeeded' \
                 AND ($2 IS NULL OR kind = $2)",
            )
            .bind(course)
            .bind(kind)
            .fetch_one(pool)
            .await
        })?)
    }

    pub async fn sync_runs(&self, course: CourseId) -> StoreResult<Vec<SyncRun>> {
        let sql = concat!(
            "SELECT ",
            run_columns!(),
            " FROM sync_runs WHERE course_id = $1 ORDER BY id"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(course).fetch_all(pool).await)?)
    }

    /// Every course with its latest run (if any), for the admin page.
    pub async fn course_sync_statuses(&self) -> StoreResult<Vec<CourseSyncStatus>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id AS course_id, c.platform_id, c.title, c.code, r.status AS run_status, \
                 r.kind, r.started_at, r.finished_at, r.calls, r.inserted, r.updated, r.removed, r.error \
                 FROM courses c LEFT JOIN sync_runs r ON r.id = \
                 (SELECT MAX(id) FROM sync_runs WHERE course_id = c.id) ORDER BY c.title, c.id",
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// Counts `calls` more REST calls for the platform today (UTC) and the remaining quota
    /// the API reported, returning today's total.
    pub async fn count_api_calls(
        &self,
        platform: PlatformId,
        calls: i64,
        remaining: Option<i64>,
    ) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO api_usage (platform_id, day, calls, remaining) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (platform_id, day) DO UPDATE SET calls = api_usage.calls + excluded.calls, \
                 remaining = COALESCE(excluded.remaining, api_usage.remaining) RETURNING calls",
            )
            .bind(platform)
            .bind(utc_day(EpochMs::now()))
            .bind(calls)
            .bind(remaining)
            .fetch_one(pool)
            .await
        })?)
    }

    /// REST calls made today (UTC) for the platform and the last remaining quota reported.
    pub async fn api_usage_today(&self, platform: PlatformId) -> StoreResult<(i64, Option<i64>)> {
        let row: Option<(i64, Option<i64>)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT calls, remaining FROM api_usage WHERE platform_id = $1 AND day = $2")
                .bind(platform)
                .bind(utc_day(EpochMs::now()))
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.unwrap_or((0, None)))
    }
}

/// The UTC calendar day of an instant, as `YYYY-MM-DD`.
pub fn utc_day(at: EpochMs) -> String {
    let date = at.to_datetime().date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}
