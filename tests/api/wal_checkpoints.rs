//! SQLite's write-ahead log is checkpointed off the activity writer: what the writer
//! commits reaches the database file itself while the store stays open, though the
//! writer's own threshold (64 MB of WAL) is far above what the test writes.

use std::time::Duration;

use cloop::activity::ActivityKind;

use crate::activity_contract::{BASE, bucketing, event};
use crate::helpers::{Backend, TestDatabase};
use crate::ingest_support::{course, platform};

/// The packs in the database file alone, its WAL left out (`immutable`: opened as a file
/// no one writes, so SQLite neither reads nor replays the WAL).
fn packs_in_database_file(path: &str) -> i64 {
    let Ok(file) = rusqlite::Connection::open_with_flags(
        format!("file:{path}?immutable=1"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    ) else {
        return 0;
    };
    file.query_row("SELECT count(*) FROM activity_packs", [], |r| r.get(0))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_commits_are_checkpointed_into_the_database_file_while_the_store_is_open() {
    let db = TestDatabase::fresh(Backend::Sqlite, module_path!())
        .await
        .unwrap();
    let store = db.store().await;
    let platform = platform(&store).await;
    let course = course(&store, platform.id, 1358, "UTC").await;
    // 40 batches of 2,000 events a second apart, each with a long key: about 16 MB of
    // packs, some 4,000 pages, written by the activity writer alone.
    for batch in 0..40 {
        let events = (0..2_000)
            .map(|i| {
                let n = batch * 2_000 + i;
                event(
                    None,
                    None,
                    ActivityKind::View,
                    BASE + n * 1_000,
                    &format!("{n:0>200}"),
                )
            })
            .collect();
        store
            .record_activity(course, events, bucketing("UTC"))
            .await
            .unwrap();
    }

    let cloop::Store::Sqlite(sqlite) = &store else {
        unreachable!("a SQLite store")
    };
    let packs: i64 = sqlx::query_scalar("SELECT count(*) FROM activity_packs")
        .fetch_one(&sqlite.pool)
        .await
        .unwrap();
    let path = db.url.trim_start_matches("sqlite://");
    let mut in_file = 0;
    for _ in 0..100 {
        in_file = packs_in_database_file(path);
        if in_file * 2 > packs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        in_file * 2 > packs,
        "the database file holds {in_file} of the {packs} packs committed"
    );

    // Closing the store closes the checkpointing connection too: the last connection to
    // close checkpoints the rest and removes the WAL.
    store.close().await;
    assert_eq!(packs_in_database_file(path), packs);
    assert!(!std::path::Path::new(&format!("{path}-wal")).exists());
}
