//! Background work: a scheduler that queues course syncs every `sync_interval`, and
//! workers that claim jobs from the durable queue in the database and run them.

mod scheduler;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::Config;
use crate::lms::blackboard::{ClientOptions, SyncError, SyncProgress, sync_course};
use crate::secret::SecretKey;
use crate::store::sync_runs::SyncRun;
use crate::store::{CourseId, EpochMs, Store, StoreError, StoreResult};

pub use scheduler::schedule_syncs;
pub use worker::run_one_job;

/// The job kind of a course sync; its dedupe key is the course id.
pub const COURSE_SYNC: &str = "course_sync";

/// The job kind of the LTI services read (roster by NRPS, then gradebook by AGS); its
/// dedupe key is the course id.
pub const LTI_ROSTER: &str = "lti_roster";

/// How workers and the scheduler behave.
#[derive(Clone, Debug)]
pub struct JobsOptions {
    /// Workers in this process.
    pub workers: usize,
    /// How often the scheduler queues a sync of every course with REST credentials.
    pub sync_interval: Duration,
    /// How often a course's LTI roster is read at most.
    pub roster_interval: Duration,
    /// How long an idle worker waits before looking for due jobs again.
    pub poll: Duration,
    /// Attempts of a failing job before it is given up.
    pub max_attempts: i64,
    /// First retry delay of a failed job (doubled per attempt, plus jitter).
    pub retry_backoff: Duration,
    /// When a paused sync (budget, rate limit) is tried again.
    pub pause_for: Duration,
    /// A running job not heard of for this long is taken to have died with its worker.
    pub stale_after: Duration,
    pub client: ClientOptions,
    /// The guard on service URLs from launches (`allow_private_urls`).
    pub lms_urls: crate::outbound::Guard,
}

impl JobsOptions {
    /// The configured interval and daily budget, with production pacing.
    pub fn from_config(config: &Config) -> Self {
        Self {
            workers: 2,
            sync_interval: config.sync_interval,
            roster_interval: config.roster_interval,
            poll: Duration::from_secs(5),
            max_attempts: 5,
            retry_backoff: Duration::from_secs(60),
            pause_for: Duration::from_secs(30 * 60),
            stale_after: Duration::from_secs(10 * 60),
            client: ClientOptions {
                daily_budget: config.blackboard_daily_budget,
                ..ClientOptions::default()
            },
            lms_urls: crate::outbound::Guard::allowing_private(config.allow_private_urls),
        }
    }
}

/// Queues a sync of the course now (call it right after a course's first launch). Returns
/// false when one is already queued; while one runs, the new one waits to follow it.
pub async fn enqueue_course_sync(store: &Store, course: CourseId) -> StoreResult<bool> {
    let queued = store
        .enqueue_job(COURSE_SYNC, &course.to_string(), "{}", EpochMs::now())
        .await?;
    Ok(queued.is_some())
}

/// Queues an LTI services read (roster, gradebook) of the course unless one ran within
/// `interval`. Returns false when none was queued (recent, or one already queued).
pub async fn enqueue_roster_sync_if_due(
    store: &Store,
    course: CourseId,
    interval: Duration,
) -> StoreResult<bool> {
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    let last_run = store
        .service_runs(course)
        .await?
        .into_iter()
        .map(|r| r.last_run_at.0)
        .max();
    if let Some(last_run) = last_run
        && EpochMs::now().0.saturating_sub(last_run) < interval_ms
    {
        return Ok(false);
    }
    let queued = store
        .enqueue_job(LTI_ROSTER, &course.to_string(), "{}", EpochMs::now())
        .await?;
    Ok(queued.is_some())
}

/// Why `sync_course_now` did not sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncNowError {
    #[error(
        "a sync of course {0} is already running in a worker; another is queued to follow it (see /admin/sync)"
    )]
    Busy(CourseId),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs a course's sync in this process now (`cloop sync`), through the queue, so that no
/// worker syncs the same course at the same time. A paused sync is left queued for the
/// workers to resume.
pub async fn sync_course_now(
    store: &Store,
    secret: &SecretKey,
    course: CourseId,
    client: &ClientOptions,
    progress: &(dyn Fn(SyncProgress) + Sync),
) -> Result<SyncRun, SyncNowError> {
    enqueue_course_sync(store, course).await?;
    let key = course.to_string();
    let me = format!("cli-{}-{}", hostname(), std::process::id());
    let mut job = store.claim_job_by_key(COURSE_SYNC, &key, &me).await?;
    if job.is_none() && release_if_holder_gone(store, &key).await? {
        job = store.claim_job_by_key(COURSE_SYNC, &key, &me).await?;
    }
    let job = job.ok_or(SyncNowError::Busy(course))?;
    match sync_course(store, secret, course, client, progress).await {
        Ok(run) if run.status == "paused" => {
            let later = EpochMs::now().plus_secs(30 * 60);
            store
                .requeue_job(job.id, later, run.error.as_deref())
                .await?;
            Ok(run)
        }
        Ok(run) => {
            store.complete_job(job.id).await?;
            Ok(run)
        }
        Err(e) => {
            store.fail_job(job.id, &e.to_string()).await?;
            Err(e.into())
        }
    }
}

/// Starts the scheduler and the workers; they stop when `shutdown` turns true.
pub fn spawn(
    store: Store,
    secret: Arc<SecretKey>,
    options: JobsOptions,
    shutdown: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(scheduler::run(
        store.clone(),
        options.clone(),
        shutdown.clone(),
    ));
    for n in 0..options.workers.max(1) {
        let name = format!("{}-{}-{n}", hostname(), std::process::id());
        tasks.spawn(worker::run(
            store.clone(),
            secret.clone(),
            options.clone(),
            name,
            shutdown.clone(),
        ));
    }
    tasks
}

/// This machine's name, which (with a process id) names who holds a job.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "cloop".into())
}

/// Puts a course's running sync back in the queue when the process holding it ran on this
/// machine and has ended (a `cloop sync` or worker killed mid-run), so a new run resumes it
/// at once instead of after `stale_after`. Says whether it did.
async fn release_if_holder_gone(store: &Store, key: &str) -> Result<bool, StoreError> {
    let host = hostname();
    for job in store.jobs_of_kind(COURSE_SYNC).await? {
        let Some(holder) = job.locked_by.as_deref() else {
            continue;
        };
        if job.dedupe_key != key || job.status != "running" {
            continue;
        }
        let on_this_host = holder.strip_prefix("cli-").unwrap_or(holder);
        let Some(pid) = on_this_host
            .strip_prefix(&format!("{host}-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = pid == std::process::id()
            || std::path::Path::new(&format!("/proc/{pid}")).exists()
            || !std::path::Path::new("/proc/self").exists();
        if !alive {
            tracing::warn!(job = %job.id, holder, "the process holding this sync has ended; running it again");
            store
                .requeue_job(job.id, EpochMs::now(), Some("the process running it ended"))
                .await?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Sleeps for `duration` unless shutdown comes first; returns true on shutdown.
async fn sleep_or_shutdown(duration: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => *shutdown.borrow(),
        changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
    }
}
