//! The durable job queue on both databases: one active job per course, safe claiming by
//! concurrent workers, retries with backoff, stale jobs requeued, and the scheduler.

use std::collections::HashSet;
use std::time::Duration;

use cloop::Config;
use cloop::jobs::{COURSE_SYNC, JobsOptions, enqueue_course_sync, run_one_job, schedule_syncs};
use cloop::store::EpochMs;
use cloop::store::courses::CourseUpsert;

use crate::blackboard_fake::FakeLearn;
use crate::sync::{blackboard_platform, fast_options, launched_course};
use crate::{fresh_store, on_both_backends};

on_both_backends! {
    async fn one_course_is_never_queued_or_run_twice(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = blackboard_platform(&store, "learn").await;
        let mut courses = Vec::new();
        for n in 0..20 {
            let course = store.upsert_course(platform, crate::helpers::deployment(&store, platform).await, &CourseUpsert {
                lms_context_id: format!("ctx-{n}"),
                ..CourseUpsert::default()
            }).await.unwrap();
            assert!(enqueue_course_sync(&store, course.id).await.unwrap());
            assert!(!enqueue_course_sync(&store, course.id).await.unwrap(), "already queued");
            courses.push(course.id);
        }

        // Four workers claim at once; every job goes to exactly one of them.
        let mut claimers = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            claimers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = store.claim_job(&format!("worker-{w}")).await.unwrap() {
                    assert_eq!(job.status, "running");
                    mine.push(job.dedupe_key.clone());
                }
                mine
            }));
        }
        let mut claimed = Vec::new();
        for c in claimers {
            claimed.extend(c.await.unwrap());
        }
        assert_eq!(claimed.len(), 20, "{claimed:?}");
        assert_eq!(claimed.iter().collect::<HashSet<_>>().len(), 20, "no job claimed twice");

        // While a course's sync runs, another cannot be queued for it.
        assert!(!enqueue_course_sync(&store, courses[0]).await.unwrap());
        let secret = cloop::SecretKey::load_or_create(&store, None).await.unwrap();
        let busy = cloop::jobs::sync_course_now(&store, &secret, courses[0], &fast_options(), &|_| {}).await;
        assert!(
            matches!(busy, Err(cloop::jobs::SyncNowError::Busy(c)) if c == courses[0]),
            "`cloop sync` does not run beside a worker's sync of the same course"
        );
        let jobs = store.jobs_of_kind(COURSE_SYNC).await.unwrap();
        let first = jobs.iter().find(|j| j.dedupe_key == courses[0].to_string()).unwrap();
        store.complete_job(first.id).await.unwrap();
        assert!(enqueue_course_sync(&store, courses[0]).await.unwrap(), "after it finished, yes");

        // A retry waits for its time; a job whose worker died is requeued.
        let second = jobs.iter().find(|j| j.dedupe_key == courses[1].to_string()).unwrap();
        store.requeue_job(second.id, EpochMs::now().plus_secs(3600), Some("boom")).await.unwrap();
        let next = store.claim_job("w").await.unwrap().unwrap();
        assert_eq!(next.dedupe_key, courses[0].to_string(), "the retry is not due yet");
        assert_eq!(store.requeue_stale_jobs(EpochMs::now().plus_secs(1)).await.unwrap(), 19);
        let job = store.job(second.id).await.unwrap().unwrap();
        assert_eq!((job.status.as_str(), job.last_error.as_deref()), ("queued", Some("boom")));
    }
}

on_both_backends! {
    async fn scheduler_queues_synced_courses_and_workers_run_them(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let fake = FakeLearn::start().await;
        let (secret, _platform, course) = launched_course(&store, &fake).await;
        let other = blackboard_platform(&store, "no-rest").await;
        store.upsert_course(other, crate::helpers::deployment(&store, other).await, &CourseUpsert { lms_context_id: "x".into(), ..CourseUpsert::default() }).await.unwrap();

        let mut options = JobsOptions::from_config(&Config::for_database("sqlite://unused.db"));
        options.client = fast_options();
        options.retry_backoff = Duration::from_millis(10);
        assert_eq!(schedule_syncs(&store, &options).await.unwrap(), 1, "only courses with REST credentials");
        assert_eq!(schedule_syncs(&store, &options).await.unwrap(), 0, "already queued");

        assert!(run_one_job(&store, &secret, &options, "w1").await.unwrap());
        let jobs = store.jobs_of_kind(COURSE_SYNC).await.unwrap();
        assert_eq!(jobs[0].status, "succeeded", "{jobs:?}");
        assert_eq!(store.latest_sync_run(course).await.unwrap().unwrap().status, "succeeded");
        assert!(!run_one_job(&store, &secret, &options, "w1").await.unwrap(), "nothing left");

        // A failing sync is retried later, then given up.
        fake.state.lock().unwrap().broken_path = Some("/contents".into());
        options.max_attempts = 2;
        assert!(enqueue_course_sync(&store, course).await.unwrap());
        assert!(run_one_job(&store, &secret, &options, "w1").await.unwrap());
        let job = store.jobs_of_kind(COURSE_SYNC).await.unwrap().pop().unwrap();
        assert_eq!(job.status, "queued");
        assert!(job.last_error.as_deref().unwrap().contains("/contents"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(run_one_job(&store, &secret, &options, "w1").await.unwrap());
        let job = store.job(job.id).await.unwrap().unwrap();
        assert_eq!((job.status.as_str(), job.attempts), ("failed", 2));
    }
}
