//! `cloop backup` and `cloop restore`, as separate processes: a backup taken while an
//! import writes restores to a consistent database, and a restore refuses a database in
//! use, a file that is no backup, and a backup that would overwrite a file.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cloop::Store;
use cloop::activity::{Bucketing, CourseClock};
use cloop::ingest::synthetic::{self, CourseShape, Generator};

use crate::activity_contract::rollup_rows;
use crate::ingest_support::{cloop_import, course, event_count, platform};

const ZONE: &str = "Australia/Melbourne";

fn cloop(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloop"))
        .args(args)
        .env("CLOOP_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn a_backup_taken_mid_import_restores_to_a_consistent_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let platform = platform(&store).await;
    let course = course(&store, platform.id, 6100, ZONE).await;
    let file = dir.path().join("accumulator.csv");
    let mut shape = CourseShape::semester(300);
    shape.course_pk1 = 6100;
    let mut generator = Generator::new(shape, 5, 400_000);
    let rows = synthetic::write_accumulator(
        &mut generator,
        &mut std::io::BufWriter::new(std::fs::File::create(&file).unwrap()),
        false,
    )
    .unwrap();

    let mut import = cloop_import(&url, course, "bb-accumulator")
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Once some batches are in, and while the import still runs, a backup.
    let started = Instant::now();
    while store.latest_activity(course).await.unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the import stored nothing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let backup = dir.path().join("mid-import.db");
    let made = cloop(&url, &["backup", backup.to_str().unwrap()]);
    assert!(made.status.success(), "{}", text(&made));
    let mid_import = import.try_wait().unwrap().is_none();
    assert!(import.wait().unwrap().success());
    assert!(
        mid_import,
        "the import was still running when the backup was made"
    );

    // Restored elsewhere, the backup is a whole database whose rollups equal a recount.
    let restored_url = format!("sqlite://{}", dir.path().join("restored.db").display());
    let restored = cloop(&restored_url, &["restore", backup.to_str().unwrap()]);
    assert!(restored.status.success(), "{}", text(&restored));
    let copy = Store::connect(&restored_url).await.unwrap();
    copy.migrate().await.unwrap();
    let check: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(match &copy {
            Store::Sqlite(db) => &db.pool,
            Store::Postgres(_) => unreachable!(),
        })
        .await
        .unwrap();
    assert_eq!(check.0, "ok");
    let events = event_count(&copy, course).await;
    let all = event_count(&store, course).await;
    assert!(
        events > 0 && events < all,
        "{events} of {all} ({rows} rows)"
    );
    let kept = rollup_rows(&copy, course).await;
    let bucketing = Bucketing {
        clock: CourseClock::new(ZONE).unwrap(),
        session_gap_ms: cloop::ingest::DEFAULT_SESSION_GAP.as_millis() as i64,
    };
    copy.recount_activity_rollups(course, &bucketing)
        .await
        .unwrap();
    assert_eq!(
        kept,
        rollup_rows(&copy, course).await,
        "the rollups are those of the events"
    );
    copy.close().await;
    store.close().await;
}

#[tokio::test]
async fn a_restore_refuses_a_database_in_use_and_files_that_are_no_backup() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    platform(&store).await;
    let backup = dir.path().join("backup.db");
    let made = cloop(&url, &["backup", backup.to_str().unwrap()]);
    assert!(made.status.success(), "{}", text(&made));

    let again = cloop(&url, &["backup", backup.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    // This process has the database open, as `cloop serve` would.
    let refused = cloop(&url, &["restore", backup.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("in use by a running cloop"),
        "{}",
        text(&refused)
    );

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let other = format!("sqlite://{}", dir.path().join("other.db").display());
    let refused = cloop(&other, &["restore", junk.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("is not a cloop database"),
        "{}",
        text(&refused)
    );
    assert!(!dir.path().join("other.db").exists(), "nothing was written");

    // Stopped, the database is replaced by the backup: the platform added since is gone.
    store
        .create_platform(&crate::store_platforms::blackboard("later", "client-2"))
        .await
        .unwrap();
    store.close().await;
    drop(store);
    let restored = cloop(&url, &["restore", backup.to_str().unwrap()]);
    assert!(restored.status.success(), "{}", text(&restored));
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.platforms().await.unwrap().len(), 1);
    store.close().await;

    let postgres = cloop("postgres://nobody@127.0.0.1:1/none", &["backup", "x.db"]);
    assert!(text(&postgres).contains("pg_dump"), "{}", text(&postgres));
}
