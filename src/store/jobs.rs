//! The durable job queue: jobs survive restarts, several workers claim them safely
//! (PostgreSQL `FOR UPDATE SKIP LOCKED`; one atomic UPDATE on single-writer SQLite), and
//! the unique partial index keeps at most one queued or running job per (kind, key).

use serde::Serialize;

use super::{EpochMs, JobId, PostgresDb, Store, StoreResult, on_pool};

/// A job as a worker sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub dedupe_key: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub run_at: EpochMs,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
}

macro_rules! job_columns {
    () => {
        "id, kind, dedupe_key, payload, status, attempts, run_at, locked_by, last_error"
    };
}

impl Store {
    /// Jobs waiting to run, and how long ago the oldest of them became due (none waiting:
    /// zero).
    pub async fn job_backlog(&self) -> StoreResult<(i64, i64)> {
        let now = EpochMs::now();
        let (waiting, oldest): (i64, Option<i64>) = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*), MIN(run_at) FROM jobs WHERE status = 'queued' AND run_at <= $1",
            )
            .bind(now)
            .fetch_one(pool)
            .await
        })?;
        Ok((waiting, oldest.map_or(0, |at| (now.0 - at).max(0))))
    }

    /// Queues a job unless one of the same kind and key is already queued or running;
    /// returns the new job's id, or `None` when it was already there.
    pub async fn enqueue_job(
        &self,
        kind: &str,
        dedupe_key: &str,
        payload: &str,
        run_at: EpochMs,
    ) -> StoreResult<Option<JobId>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO jobs (kind, dedupe_key, payload, status, run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'queued', $4, $5, $5) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(kind)
            .bind(dedupe_key)
            .bind(payload)
            .bind(run_at)
            .bind(EpochMs::now())
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Claims the next due job for `worker`, marking it running.
    pub async fn claim_job(&self, worker: &str) -> StoreResult<Option<Job>> {
        let now = EpochMs::now();
        let job = match self {
            Store::Postgres(PostgresDb { pool, .. }) => {
                let sql = concat!(
                    "UPDATE jobs SET status = 'running', locked_by = $1, locked_at = $2, \
                     attempts = attempts + 1, updated_at = $2 WHERE id = \
                     (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $2 \
                     ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING ",
                    job_columns!()
                );
                sqlx::query_as(sql)
                    .bind(worker)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
            // SQLite has one writer at a time: this single UPDATE picks and locks atomically.
            Store::Sqlite(db) => {
                let sql = concat!(
                    "UPDATE jobs SET status = 'running', locked_by = $1, locked_at = $2, \
                     attempts = attempts + 1, updated_at = $2 WHERE id = \
                     (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $2 \
                     ORDER BY run_at, id LIMIT 1) AND status = 'queued' RETURNING ",
                    job_columns!()
                );
                sqlx::query_as(sql)
                    .bind(worker)
                    .bind(now)
                    .fetch_optional(&db.pool)
                    .await?
            }
        };
        Ok(job)
    }

    /// Claims the queued job of this kind and key for `worker`, if it is queued (not running).
    pub async fn claim_job_by_key(
        &self,
        kind: &str,
        dedupe_key: &str,
        worker: &str,
    ) -> StoreResult<Option<Job>> {
        let sql = concat!(
            "UPDATE jobs SET status = 'running', locked_by = $3, locked_at = $4, \
             attempts = attempts + 1, updated_at = $4 \
             WHERE kind = $1 AND dedupe_key = $2 AND status = 'queued' RETURNING ",
            job_columns!()
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(kind)
                .bind(dedupe_key)
                .bind(worker)
                .bind(EpochMs::now())
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Marks the running job as done.
    pub async fn complete_job(&self, job: JobId) -> StoreResult<()> {
        self.set_job_state(job, "succeeded", None, None).await
    }

    /// Puts the job back in the queue to run at `run_at` (a retry, or a paused sync).
    pub async fn requeue_job(
        &self,
        job: JobId,
        run_at: EpochMs,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.set_job_state(job, "queued", Some(run_at), error).await
    }

    /// Gives up on the job after its last attempt.
    pub async fn fail_job(&self, job: JobId, error: &str) -> StoreResult<()> {
        self.set_job_state(job, "failed", None, Some(error)).await
    }

    async fn set_job_state(
        &self,
        job: JobId,
        status: &str,
        run_at: Option<EpochMs>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET status = $2, run_at = COALESCE($3, run_at), \
                 last_error = COALESCE($4, last_error), locked_by = NULL, locked_at = NULL, \
                 updated_at = $5 WHERE id = $1",
            )
            .bind(job)
            .bind(status)
            .bind(run_at)
            .bind(error)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Tells the queue the worker still holds the job.
    pub async fn heartbeat_job(&self, job: JobId) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE jobs SET locked_at = $2 WHERE id = $1 AND status = 'running'")
                .bind(job)
                .bind(EpochMs::now())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Requeues running jobs whose worker has not been heard of since `stale_before`
    /// (it crashed or was killed); returns how many.
    pub async fn requeue_stale_jobs(&self, stale_before: EpochMs) -> StoreResult<u64> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET status = 'queued', locked_by = NULL, locked_at = NULL, \
                 updated_at = $2 WHERE status = 'running' AND locked_at < $1",
            )
            .bind(stale_before)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?)
    }

    pub async fn job(&self, job: JobId) -> StoreResult<Option<Job>> {
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(job).fetch_optional(pool).await)?)
    }

    /// Jobs of one kind, oldest first.
    pub async fn jobs_of_kind(&self, kind: &str) -> StoreResult<Vec<Job>> {
        let sql = concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE kind = $1 ORDER BY id"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(kind).fetch_all(pool).await)?)
    }
}
