//! The durable job queue on both databases: one queued and one running job per course (a
//! sync asked for while one runs follows it), safe claiming by concurrent workers, retries
//! with backoff, stale jobs requeued, and the scheduler.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

        // While a course's sync runs, one more can be queued, but it waits for the first.
        assert!(enqueue_course_sync(&store, courses[0]).await.unwrap(), "queued behind the running one");
        assert!(!enqueue_course_sync(&store, courses[0]).await.unwrap(), "one waits already");
        let secret = cloop::SecretKey::load_or_create(&store, None).await.unwrap();
        let busy = cloop::jobs::sync_course_now(&store, &secret, courses[0], &fast_options(), &|_| {}).await;
        assert!(
            matches!(busy, Err(cloop::jobs::SyncNowError::Busy(c)) if c == courses[0]),
            "`cloop sync` does not run beside a worker's sync of the same course"
        );
        assert!(store.claim_job("w").await.unwrap().is_none(), "no worker claims it while the first runs");
        let jobs = store.jobs_of_kind(COURSE_SYNC).await.unwrap();
        let first = jobs.iter().find(|j| j.dedupe_key == courses[0].to_string()).unwrap();
        store.complete_job(first.id).await.unwrap();

        // A retry waits for its time; a job whose worker died is requeued.
        let second = jobs.iter().find(|j| j.dedupe_key == courses[1].to_string()).unwrap();
        store.requeue_job(second.id, EpochMs::now().plus_secs(3600), Some("boom")).await.unwrap();
        let next = store.claim_job("w").await.unwrap().unwrap();
        assert_eq!(next.dedupe_key, courses[0].to_string(), "the one that waited; the retry is not due yet");
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

on_both_backends! {
    /// The window the soak fell into: a sync has recorded its run but its job is not yet
    /// marked done when "Sync now" (or the scheduler, or a Blackboard grant) asks again.
    async fn a_sync_asked_for_while_one_runs_is_not_dropped(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = blackboard_platform(&store, "learn").await;
        let deployment = crate::helpers::deployment(&store, platform).await;
        let course = |n: u32| CourseUpsert { lms_context_id: format!("ctx-{n}"), ..CourseUpsert::default() };
        let one = store.upsert_course(platform, deployment, &course(1)).await.unwrap().id;
        let two = store.upsert_course(platform, deployment, &course(2)).await.unwrap().id;

        assert!(enqueue_course_sync(&store, one).await.unwrap());
        let running = store.claim_job("w1").await.unwrap().unwrap();
        assert!(enqueue_course_sync(&store, one).await.unwrap(), "asked for while the first runs");
        store.complete_job(running.id).await.unwrap();
        let follower = store.claim_job("w2").await.unwrap().expect("the sync asked for meanwhile runs next");
        assert_eq!(follower.dedupe_key, one.to_string());
        assert_ne!(follower.id, running.id);

        // A retry of a running sync folds into the one queued behind it: one queued job,
        // at the retry's time, carrying its attempts and error.
        assert!(enqueue_course_sync(&store, one).await.unwrap());
        let later = EpochMs::now().plus_secs(3600);
        store.requeue_job(follower.id, later, Some("Learn answered 500")).await.unwrap();
        let waiting: Vec<_> = store.jobs_of_kind(COURSE_SYNC).await.unwrap().into_iter().filter(|j| j.status == "queued").collect();
        assert_eq!(waiting.len(), 1, "{waiting:?}");
        assert_eq!((waiting[0].run_at, waiting[0].attempts, waiting[0].last_error.as_deref()), (later, 1, Some("Learn answered 500")));
        assert!(store.job(follower.id).await.unwrap().is_none(), "the retried job gave its place to the queued one");
        assert!(store.claim_job("w1").await.unwrap().is_none(), "not due before the retry's time");

        // A sync whose worker died folds the same way, keeping the queued one's time.
        assert!(enqueue_course_sync(&store, two).await.unwrap());
        let lost = store.claim_job("w3").await.unwrap().unwrap();
        assert!(enqueue_course_sync(&store, two).await.unwrap());
        assert_eq!(store.requeue_stale_jobs(EpochMs::now().plus_secs(1)).await.unwrap(), 1);
        assert!(store.job(lost.id).await.unwrap().is_none());
        let resumed = store.claim_job("w1").await.unwrap().unwrap();
        assert_eq!((resumed.dedupe_key.as_str(), resumed.attempts), (two.to_string().as_str(), 2));
        assert_eq!(store.requeue_stale_jobs(EpochMs::now().plus_secs(1)).await.unwrap(), 1, "nothing queued behind: back in the queue");
        assert_eq!(store.job(resumed.id).await.unwrap().unwrap().status, "queued");
    }
}

on_both_backends! {
    /// Eight requesters ask for one course's sync at random moments while two workers
    /// claim, finish or retry it: no request goes without a run claimed after it, two runs
    /// never overlap, and the queue never holds two of it.
    async fn concurrent_requests_each_get_a_run_and_runs_never_overlap(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = blackboard_platform(&store, "learn").await;
        let deployment = crate::helpers::deployment(&store, platform).await;
        let course = store.upsert_course(platform, deployment, &CourseUpsert { lms_context_id: "ctx".into(), ..CourseUpsert::default() }).await.unwrap().id;
        let claims = Arc::new(AtomicU64::new(0));
        let running = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));

        let mut workers = Vec::new();
        for w in 0..2u64 {
            let (store, claims, running, stop) = (store.clone(), claims.clone(), running.clone(), stop.clone());
            workers.push(tokio::spawn(async move {
                let mut n = w;
                while !stop.load(Ordering::SeqCst) {
                    let Some(job) = store.claim_job(&format!("w{w}")).await.unwrap() else {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    };
                    assert!(!running.swap(true, Ordering::SeqCst), "two runs of one course at once");
                    claims.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(1 + n % 3)).await;
                    running.store(false, Ordering::SeqCst);
                    n += 1;
                    if n % 3 == 0 {
                        store.requeue_job(job.id, EpochMs::now(), Some("retry")).await.unwrap();
                    } else {
                        store.complete_job(job.id).await.unwrap();
                    }
                }
            }));
        }
        let mut requesters = Vec::new();
        for r in 0..8u64 {
            let (store, claims) = (store.clone(), claims.clone());
            requesters.push(tokio::spawn(async move {
                for i in 0..25u64 {
                    tokio::time::sleep(Duration::from_micros((r * 7 + i * 13) % 2000)).await;
                    let before = claims.load(Ordering::SeqCst);
                    enqueue_course_sync(&store, course).await.unwrap();
                    let waited = tokio::time::timeout(Duration::from_secs(20), async {
                        while claims.load(Ordering::SeqCst) <= before {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    })
                    .await;
                    assert!(waited.is_ok(), "request {r}/{i} was never followed by a run");
                }
            }));
        }
        for r in requesters {
            r.await.unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.await.unwrap();
        }
        let jobs = store.jobs_of_kind(COURSE_SYNC).await.unwrap();
        assert!(jobs.iter().filter(|j| j.status == "queued").count() <= 1, "{jobs:?}");
        assert_eq!(jobs.iter().filter(|j| j.status == "running").count(), 0, "{jobs:?}");
    }
}
