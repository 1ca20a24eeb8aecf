//! A worker: claims due jobs, runs them, and records the outcome — done, paused until
//! later, retried with backoff, or given up after `max_attempts`.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;

use super::{COURSE_SYNC, JobsOptions, LTI_ROSTER, sleep_or_shutdown};
use crate::lms::blackboard::{BbError, SyncError, sync_course};
use crate::outbound::Guard;
use crate::secret::SecretKey;
use crate::store::jobs::Job;
use crate::store::{CourseId, EpochMs, Store, StoreResult};

pub(super) async fn run(
    store: Store,
    secret: Arc<SecretKey>,
    options: JobsOptions,
    name: String,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let idle = match run_one_job(&store, &secret, &options, &name).await {
            Ok(ran) => !ran,
            Err(e) => {
                tracing::error!(worker = %name, error = %e, "job queue unavailable");
                true
            }
        };
        if *shutdown.borrow() || (idle && sleep_or_shutdown(options.poll, &mut shutdown).await) {
            return;
        }
    }
}

/// Claims and runs one due job; returns false when none was due.
pub async fn run_one_job(
    store: &Store,
    secret: &SecretKey,
    options: &JobsOptions,
    worker: &str,
) -> StoreResult<bool> {
    let Some(job) = store.claim_job(worker).await? else {
        return Ok(false);
    };
    let heartbeat = {
        let store = store.clone();
        let every = options.stale_after / 3;
        let id = job.id;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = store.heartbeat_job(id).await {
                    tracing::warn!(job = %id, error = %e, "job heartbeat failed");
                }
            }
        })
    };
    let outcome = run_job(store, secret, options, &job).await;
    heartbeat.abort();
    match outcome {
        Ok(Outcome::Done) => store.complete_job(job.id).await?,
        Ok(Outcome::Paused) => {
            store
                .requeue_job(
                    job.id,
                    later(options.pause_for),
                    Some("paused: REST budget or rate limit"),
                )
                .await?
        }
        Err(Failure { message, permanent }) => {
            if permanent || job.attempts >= options.max_attempts {
                tracing::error!(job = %job.id, kind = %job.kind, error = %message, "job failed");
                store.fail_job(job.id, &message).await?;
            } else {
                let factor = 2u32.saturating_pow(job.attempts.clamp(0, 10) as u32 - 1);
                let delay = options.retry_backoff * factor;
                let jitter = rand::rng().random_range(0..=delay.as_millis().max(1) as u64 / 2);
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %message, "job failed; retrying");
                store
                    .requeue_job(
                        job.id,
                        later(delay + Duration::from_millis(jitter)),
                        Some(&message),
                    )
                    .await?
            }
        }
    }
    Ok(true)
}

enum Outcome {
    Done,
    Paused,
}

struct Failure {
    message: String,
    /// Retrying cannot help (no or wrong credentials, unknown job).
    permanent: bool,
}

async fn run_job(
    store: &Store,
    secret: &SecretKey,
    options: &JobsOptions,
    job: &Job,
) -> Result<Outcome, Failure> {
    if job.kind != COURSE_SYNC && job.kind != LTI_ROSTER {
        return Err(Failure {
            message: format!("unknown job kind {:?}", job.kind),
            permanent: true,
        });
    }
    let course: CourseId = job.dedupe_key.parse().map_err(|_| Failure {
        message: format!("bad course id {:?}", job.dedupe_key),
        permanent: true,
    })?;
    if job.kind == LTI_ROSTER {
        return run_roster(store, course, options.lms_urls).await;
    }
    match sync_course(store, secret, course, &options.client, &|_| {}).await {
        Ok(run) if run.status == "paused" => Ok(Outcome::Paused),
        Ok(_) => Ok(Outcome::Done),
        Err(e) => Err(Failure {
            permanent: matches!(
                e,
                SyncError::Blackboard(
                    BbError::BadCredentials(_)
                        | BbError::UserGrant(_)
                        | BbError::NoCredentials
                        | BbError::SecretUnreadable
                        | BbError::BadBaseUrl(_)
                )
            ),
            message: e.to_string(),
        }),
    }
}

/// The roster read, then the gradebook read, for the services the course's launches
/// offered; each outcome is also the course's data-source status. Only failures a retry
/// can mend (the LMS unreachable or failing) are retried.
async fn run_roster(store: &Store, course: CourseId, guard: Guard) -> Result<Outcome, Failure> {
    use crate::lti::services::{AccessTokens, ServiceError, ags, nrps};
    let (roster_url, line_items_url) =
        store
            .course_service_urls(course)
            .await
            .map_err(|e| Failure {
                message: e.to_string(),
                permanent: false,
            })?;
    let tokens = AccessTokens::shared(guard);
    let mut failures = Vec::new();
    if roster_url.is_some()
        && let Err(e) = nrps::sync_roster(store, tokens, course).await
    {
        failures.push(e);
    }
    if line_items_url.is_some()
        && let Err(e) = ags::sync_gradebook(store, tokens, course).await
    {
        failures.push(e);
    }
    if failures.is_empty() {
        return Ok(Outcome::Done);
    }
    Err(Failure {
        permanent: !failures.iter().any(|e| {
            matches!(
                e,
                ServiceError::Unreachable(_) | ServiceError::Status(_) | ServiceError::Store(_)
            )
        }),
        message: failures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })
}

fn later(delay: Duration) -> EpochMs {
    EpochMs(EpochMs::now().0 + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2))
}
