//! Every `sync_interval`: refresh the query planner's statistics, requeue jobs whose
//! worker died, and queue a sync of every course whose platform has REST credentials,
//! and an LTI services read (roster, gradebook) of every course whose launches offered
//! one and whose last read is older than `roster_interval`.

use tokio::sync::watch;

use super::{JobsOptions, enqueue_course_sync, enqueue_roster_sync_if_due, sleep_or_shutdown};
use crate::store::{EpochMs, Store, StoreResult};

pub(super) async fn run(store: Store, options: JobsOptions, mut shutdown: watch::Receiver<bool>) {
    loop {
        match schedule_syncs(&store, &options).await {
            Ok(queued) if queued > 0 => tracing::info!(queued, "course syncs queued"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "scheduling course syncs failed"),
        }
        if sleep_or_shutdown(options.sync_interval, &mut shutdown).await {
            return;
        }
    }
}

/// One scheduler round; returns how many syncs were queued.
pub async fn schedule_syncs(store: &Store, options: &JobsOptions) -> StoreResult<usize> {
    store.refresh_planner_statistics().await;
    let stale_ms = i64::try_from(options.stale_after.as_millis()).unwrap_or(i64::MAX);
    let requeued = store
        .requeue_stale_jobs(EpochMs(EpochMs::now().0.saturating_sub(stale_ms)))
        .await?;
    if requeued > 0 {
        tracing::warn!(requeued, "requeued jobs whose worker stopped answering");
    }
    let mut queued = 0;
    for course in store.syncable_courses().await? {
        if enqueue_course_sync(store, course.id).await? {
            queued += 1;
        }
    }
    for course in store.courses_with_roster_service().await? {
        if enqueue_roster_sync_if_due(store, course, options.roster_interval).await? {
            queued += 1;
        }
    }
    Ok(queued)
}
