//! The durable job queue: jobs survive restarts, several workers claim them safely
//! (PostgreSQL `FOR UPDATE SKIP LOCKED`; one atomic UPDATE on single-writer SQLite), and
//! unique partial indexes keep at most one queued and one running job per (kind, key): a
//! job asked for while its key runs waits behind it, and is claimed when that one ends.

use serde::Serialize;

use super::write_tx::BeginWrite;
use super::{
    EpochMs, JobId, PostgresDb, Store, StoreError, StoreResult, is_unique_violation, on_pool,
};

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

/// A running job of the same kind and key as the queued job `q`.
macro_rules! key_running {
    () => {
        "SELECT 1 FROM jobs AS r WHERE r.kind = q.kind AND r.dedupe_key = q.dedupe_key \
         AND r.status = 'running'"
    };
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

    /// Queues a job unless one of the same kind and key is already queued (it stands for
    /// this one); returns the new job's id, or `None` when one was queued. A job of the key
    /// that is running does not stop it: the new one runs after it.
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

    /// Claims the next due job for `worker`, marking it running; a job whose key is
    /// running waits.
    pub async fn claim_job(&self, worker: &str) -> StoreResult<Option<Job>> {
        let now = EpochMs::now();
        let job = match self {
            Store::Postgres(PostgresDb { pool, .. }) => {
                let sql = concat!(
                    "UPDATE jobs SET status = 'running', locked_by = $1, locked_at = $2, \
                     attempts = attempts + 1, updated_at = $2 WHERE id = \
                     (SELECT id FROM jobs AS q WHERE status = 'queued' AND run_at <= $2 \
                     AND NOT EXISTS (",
                    key_running!(),
                    ") \
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
                     (SELECT id FROM jobs AS q WHERE status = 'queued' AND run_at <= $2 \
                     AND NOT EXISTS (",
                    key_running!(),
                    ") \
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

    /// Claims the queued job of this kind and key for `worker`, if one is queued and none
    /// of the key is running.
    pub async fn claim_job_by_key(
        &self,
        kind: &str,
        dedupe_key: &str,
        worker: &str,
    ) -> StoreResult<Option<Job>> {
        let sql = concat!(
            "UPDATE jobs SET status = 'running', locked_by = $3, locked_at = $4, \
             attempts = attempts + 1, updated_at = $4 \
             WHERE kind = $1 AND dedupe_key = $2 AND status = 'queued' AND NOT EXISTS \
             (SELECT 1 FROM jobs AS r WHERE r.kind = $1 AND r.dedupe_key = $2 \
             AND r.status = 'running') RETURNING ",
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
        self.set_job_state(job, "succeeded", None).await
    }

    /// Puts the running job back in the queue to run at `run_at` (a retry, or a paused
    /// sync). When another job of its key was queued meanwhile, that one takes it over
    /// (its time, attempts and error) and this one is removed: one queued job per key.
    pub async fn requeue_job(
        &self,
        job: JobId,
        run_at: EpochMs,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.return_to_queue(job, Some(run_at), error, EpochMs(i64::MAX))
            .await
            .map(drop)
    }

    /// Gives up on the job after its last attempt.
    pub async fn fail_job(&self, job: JobId, error: &str) -> StoreResult<()> {
        self.set_job_state(job, "failed", Some(error)).await
    }

    /// Ends the job (`succeeded` or `failed`).
    async fn set_job_state(
        &self,
        job: JobId,
        status: &str,
        error: Option<&str>,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET status = $2, last_error = COALESCE($3, last_error), \
                 locked_by = NULL, locked_at = NULL, updated_at = $4 WHERE id = $1",
            )
            .bind(job)
            .bind(status)
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
    /// (it crashed or was killed), as `requeue_job` does but keeping their time; returns
    /// how many.
    pub async fn requeue_stale_jobs(&self, stale_before: EpochMs) -> StoreResult<u64> {
        let stale: Vec<JobId> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM jobs WHERE status = 'running' AND locked_at < $1")
                .bind(stale_before)
                .fetch_all(pool)
                .await
        })?;
        let mut requeued = 0;
        for job in stale {
            if self.return_to_queue(job, None, None, stale_before).await? {
                requeued += 1;
            }
        }
        Ok(requeued)
    }

    /// Puts a running job last heard of before `held_before` back in the queue, or folds
    /// it into the job of its key queued meanwhile; says whether it was still running.
    /// PostgreSQL can see a job of the key queued between the two steps (a unique
    /// violation): the next try folds into it.
    async fn return_to_queue(
        &self,
        job: JobId,
        run_at: Option<EpochMs>,
        error: Option<&str>,
        held_before: EpochMs,
    ) -> StoreResult<bool> {
        let mut tries = 0;
        loop {
            match self
                .return_to_queue_once(job, run_at, error, held_before)
                .await
            {
                Err(StoreError::Database(e)) if tries < 2 && is_unique_violation(&e) => {
                    tries += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn return_to_queue_once(
        &self,
        job: JobId,
        run_at: Option<EpochMs>,
        error: Option<&str>,
        held_before: EpochMs,
    ) -> StoreResult<bool> {
        let now = EpochMs::now();
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let folded: Option<JobId> = sqlx::query_scalar(
                "UPDATE jobs SET run_at = COALESCE($2, jobs.run_at), attempts = held.attempts, \
                 last_error = COALESCE($3, held.last_error), updated_at = $4 FROM jobs AS held \
                 WHERE held.id = $1 AND held.status = 'running' AND held.locked_at < $5 \
                 AND jobs.kind = held.kind AND jobs.dedupe_key = held.dedupe_key \
                 AND jobs.status = 'queued' RETURNING jobs.id",
            )
            .bind(job)
            .bind(run_at)
            .bind(error)
            .bind(now)
            .bind(held_before)
            .fetch_optional(&mut *tx)
            .await?;
            let changed = if folded.is_some() {
                sqlx::query("DELETE FROM jobs WHERE id = $1")
                    .bind(job)
                    .execute(&mut *tx)
                    .await?
            } else {
                sqlx::query(
                    "UPDATE jobs SET status = 'queued', run_at = COALESCE($2, run_at), \
                     last_error = COALESCE($3, last_error), locked_by = NULL, locked_at = NULL, \
                     updated_at = $4 WHERE id = $1 AND status = 'running' AND locked_at < $5",
                )
                .bind(job)
                .bind(run_at)
                .bind(error)
                .bind(now)
                .bind(held_before)
                .execute(&mut *tx)
                .await?
            };
            tx.commit().await?;
            changed.rows_affected() > 0
        }))
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
