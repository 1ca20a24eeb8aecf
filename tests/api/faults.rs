//! Faults from outside, with real processes: `cloop import` killed with SIGKILL half way and
//! run again stores what one clean import stores, on both engines.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cloop::Store;
use cloop::activity::{Bucketing, CourseClock};
use cloop::ingest::synthetic::{self, CourseShape, Generator};
use cloop::store::CourseId;

use crate::activity_contract::rollup_rows;
use crate::helpers::TestDatabase;
use crate::ingest_support::{cloop_import, course, event_count, platform};
use crate::on_both_backends;

const ZONE: &str = "Australia/Melbourne";
const PK1: u64 = 6200;

fn import(url: &str, course: CourseId, file: &std::path::Path) -> Child {
    cloop_import(url, course, "bb-accumulator")
        .arg(file)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// The course-wide figures of a course, which do not depend on the ids rows were given.
async fn course_figures(store: &Store, course: CourseId) -> Vec<String> {
    rollup_rows(store, course)
        .await
        .into_iter()
        .filter(|(table, _)| *table == "rollup_course_day")
        .flat_map(|(_, rows)| rows)
        .collect()
}

/// A platform, a course and its store at `database`.
async fn prepared(database: &TestDatabase) -> (Store, CourseId) {
    let store = database.store().await;
    let platform = platform(&store).await;
    let course = course(&store, platform.id, PK1, ZONE).await;
    (store, course)
}

on_both_backends! {
    async fn an_import_killed_half_way_and_run_again_equals_one_clean_import(backend: Backend) {
        let Some(killed_db) = TestDatabase::fresh(backend, "import_killed").await else { return };
        let Some(clean_db) = TestDatabase::fresh(backend, "import_clean").await else { return };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("accumulator.csv");
        let mut shape = CourseShape::semester(200);
        shape.course_pk1 = PK1;
        let mut generator = Generator::new(shape, 11, 300_000);
        synthetic::write_accumulator(
            &mut generator,
            &mut std::io::BufWriter::new(std::fs::File::create(&file).unwrap()),
            false,
        )
        .unwrap();

        let (store, course) = prepared(&killed_db).await;
        let mut first = import(&killed_db.url, course, &file);
        let started = Instant::now();
        while store.latest_activity(course).await.unwrap().is_none() {
            assert!(started.elapsed() < Duration::from_secs(120), "the import stored nothing");
            assert!(first.try_wait().unwrap().is_none(), "the import ended before it was killed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        first.kill().unwrap();
        first.wait().unwrap();
        let partial = event_count(&store, course).await;
        assert!(import(&killed_db.url, course, &file).wait().unwrap().success());

        let (clean_store, clean_course) = prepared(&clean_db).await;
        assert!(import(&clean_db.url, clean_course, &file).wait().unwrap().success());

        let events = event_count(&store, course).await;
        assert_eq!(events, event_count(&clean_store, clean_course).await, "each event once ({partial} before the kill)");
        assert!(partial < events, "the kill came half way: {partial} of {events}");
        assert_eq!(course_figures(&store, course).await, course_figures(&clean_store, clean_course).await);
        let kept = rollup_rows(&store, course).await;
        let bucketing = Bucketing {
            clock: CourseClock::new(ZONE).unwrap(),
            session_gap_ms: cloop::ingest::DEFAULT_SESSION_GAP.as_millis() as i64,
        };
        store.recount_activity_rollups(course, &bucketing).await.unwrap();
        assert_eq!(kept, rollup_rows(&store, course).await, "every rollup equals a recount");
        store.close().await;
        clean_store.close().await;
    }
}

on_both_backends! {
    async fn serve_killed_while_eight_senders_push_loses_no_event(backend: Backend) {
        use crate::cli::{cloop, free_port, wait_healthy};
        use crate::ingest_support::{envelope, key};
        const SENDERS: u64 = 8;
        const BATCHES: u64 = 40;
        const PER_BATCH: u64 = 50;
        let Some(database) = TestDatabase::fresh(backend, "serve_killed").await else { return };
        let (store, course) = prepared(&database).await;
        let platform = store.platforms().await.unwrap()[0].id;
        let key = key(&store, platform, cloop::store::ingest::IngestKeyKind::Caliper).await;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let serve = || {
            cloop(dir.path())
                .args(["serve", "--no-jobs"])
                .env("CLOOP_DATABASE_URL", &database.url)
                .env("CLOOP_LISTEN", format!("127.0.0.1:{port}"))
                .env("CLOOP_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut server = serve();
        wait_healthy(port, &mut server).await;

        // Each sender posts its batches in turn, each until it is answered 200, as an LMS
        // retries: a refused connection, a reset or a 503 means "again shortly".
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let key = key.clone();
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    let mut new = 0;
                    for batch in 0..BATCHES {
                        let events: Vec<(u64, u64)> = (0..PER_BATCH)
                            .map(|i| (PK1, sender * 1_000_000 + batch * PER_BATCH + i))
                            .collect();
                        let body = envelope(&events);
                        loop {
                            let sent = client
                                .post(format!("http://127.0.0.1:{port}/caliper"))
                                .bearer_auth(&key)
                                .header("content-type", "application/json")
                                .body(body.clone())
                                .timeout(Duration::from_secs(10))
                                .send()
                                .await;
                            if let Ok(answer) = sent
                                && answer.status() == 200
                                && let Ok(report) = answer.json::<serde_json::Value>().await
                            {
                                new += report["new"].as_u64().unwrap();
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    new
                })
            })
            .collect();

        // Killed once events are arriving, and started again on the same address.
        let started = Instant::now();
        while event_count(&store, course).await < SENDERS * PER_BATCH * 2 {
            assert!(started.elapsed() < Duration::from_secs(120), "nothing arrived");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.kill().unwrap();
        server.wait().unwrap();
        let at_kill = event_count(&store, course).await;
        let mut server = serve();
        wait_healthy(port, &mut server).await;
        let mut acknowledged_new = 0;
        for sender in senders {
            acknowledged_new += sender.await.unwrap();
        }
        crate::cli::terminate(server);

        let total = SENDERS * BATCHES * PER_BATCH;
        assert!(at_kill < total, "the kill came while events were arriving ({at_kill} of {total})");
        assert_eq!(event_count(&store, course).await, total, "every event stored exactly once");
        // A batch committed just before the kill, whose answer was lost, counts as
        // duplicates when resent: replies never claim more new events than there are.
        assert!(acknowledged_new <= total && acknowledged_new + at_kill >= total, "{acknowledged_new} new in replies, {at_kill} at the kill");
        store.close().await;
    }
}

on_both_backends! {
    async fn a_sync_killed_mid_stage_and_run_again_ends_as_one_clean_sync(backend: Backend) {
        use crate::blackboard_fake::{COURSE_UUID, FakeLearn, Fault};
        use crate::sync::{assert_course_fully_synced, launched_course};
        let Some(database) = TestDatabase::fresh(backend, "sync_killed").await else { return };
        let store = database.store().await;
        let fake = FakeLearn::start().await;
        let (_secret, _platform, course) = launched_course(&store, &fake).await;
        let url = database.url.clone();
        let sync = move || {
            Command::new(env!("CARGO_BIN_EXE_cloop"))
                .args(["sync", "--course", COURSE_UUID])
                .env("CLOOP_DATABASE_URL", &url)
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        // Slow answers, so the kill lands inside the gradebook stage.
        for _ in 0..400 {
            fake.fault(Fault::Slow(Duration::from_millis(15)));
        }
        let mut first = sync();
        let started = Instant::now();
        while !fake.state.lock().unwrap().log.iter().any(|p| p.contains("/attempts")) {
            assert!(started.elapsed() < Duration::from_secs(120), "the sync never reached the gradebook");
            assert!(first.try_wait().unwrap().is_none(), "the sync ended before it was killed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        first.kill().unwrap();
        first.wait().unwrap();
        let interrupted = store.latest_sync_run(course).await.unwrap().unwrap();
        assert_eq!(interrupted.status, "running", "killed, the run never finished");
        assert!(store.attempt_count(course).await.unwrap() < 2400, "killed mid-stage");

        let mut second = Command::new(env!("CARGO_BIN_EXE_cloop"));
        second
            .args(["sync", "--course", COURSE_UUID])
            .env("CLOOP_DATABASE_URL", &database.url)
            .env("RUST_LOG", "error");
        let again = tokio::task::spawn_blocking(move || second.output().unwrap())
            .await
            .unwrap();
        assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
        let resumed = store.latest_sync_run(course).await.unwrap().unwrap();
        assert_eq!((resumed.id, resumed.status.as_str()), (interrupted.id, "succeeded"), "the killed run resumed");
        // Every row once, as one clean sync leaves it.
        assert_course_fully_synced(&store, course).await;
        store.close().await;
    }
}
