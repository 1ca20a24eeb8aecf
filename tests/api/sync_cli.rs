//! `cloop sync` and `cloop worker` as an operator runs them, against the fake Learn server.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cloop::Store;
use cloop::jobs::{COURSE_SYNC, enqueue_course_sync};

use crate::blackboard_fake::FakeLearn;
use crate::sync::launched_course;

fn cloop(dir: &std::path::Path, url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cloop"));
    command
        .current_dir(dir)
        .env("CLOOP_DATABASE_URL", url)
        .env("RUST_LOG", "error")
        .env_remove("CLOOP_REST_SECRET");
    command
}

async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn cloop_sync_runs_one_course_or_all_in_the_foreground() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cloop.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let fake = FakeLearn::start().await;
    let (_secret, _platform, course) = launched_course(&store, &fake).await;

    let mut by_lms_id = cloop(dir.path(), &url);
    by_lms_id.args(["sync", "--course", crate::blackboard_fake::COURSE_UUID]);
    let run = output(by_lms_id).await;
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains(&format!("course {course} Cell Biology: succeeded (full)")),
        "{stdout}"
    );

    let mut all = cloop(dir.path(), &url);
    all.args(["sync", "--all"]);
    let run = output(all).await;
    assert!(run.status.success(), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stdout).contains("succeeded (incremental)"));
    assert_eq!(store.sync_runs(course).await.unwrap().len(), 2);

    let mut unknown = cloop(dir.path(), &url);
    unknown.args(["sync", "--course", "NOPE101"]);
    let run = output(unknown).await;
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no course \"NOPE101\""), "{stderr}");
    store.close().await;
}

#[tokio::test]
async fn cloop_worker_runs_queued_syncs_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cloop.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let fake = FakeLearn::start().await;
    let (_secret, _platform, course) = launched_course(&store, &fake).await;
    assert!(enqueue_course_sync(&store, course).await.unwrap());

    let mut worker = cloop(dir.path(), &url);
    worker.arg("worker").stderr(Stdio::null());
    let child = worker.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = store.jobs_of_kind(COURSE_SYNC).await.unwrap();
        if jobs.iter().all(|j| j.status == "succeeded") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker did not run the sync: {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        store.latest_sync_run(course).await.unwrap().unwrap().status,
        "succeeded"
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || {
        let mut child = child;
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(
        status.success(),
        "the worker exits cleanly on SIGTERM: {status}"
    );
    store.close().await;
}
