//! The query planner's statistics: on SQLite cloop keeps them itself (on each scheduler
//! round, the first as a server or worker starts, and after an import), since without
//! them some pages' reads take plans several times slower; on PostgreSQL autovacuum keeps
//! them and the refresh does nothing.

use cloop::Config;
use cloop::Store;
use cloop::ingest::DEFAULT_SESSION_GAP;
use cloop::ingest::import::{Format, import_file};
use cloop::jobs::{JobsOptions, schedule_syncs};

use crate::ingest_support::{course, platform};
use crate::{fresh_store, on_both_backends};

/// `users`' row count as SQLite's statistics hold it (`None`: not analysed).
async fn users_in_statistics(store: &Store) -> Option<i64> {
    users_statistics(store).await.map(|(rows, _)| rows)
}

/// `users`' statistics by its (platform, subject) index: the rows, and the rows per platform
/// (`None`: not analysed).
async fn users_statistics(store: &Store) -> Option<(i64, i64)> {
    let Store::Sqlite(db) = store else {
        return None;
    };
    let stat: Option<(String,)> = sqlx::query_as(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = 'users' AND idx = 'sqlite_autoindex_users_1'",
    )
    .fetch_optional(&db.pool)
    .await
    .unwrap_or(None);
    let (stat,) = stat?;
    let mut numbers = stat.split(' ').map(|n| n.parse::<i64>().ok());
    Some((numbers.next()??, numbers.next()??))
}

/// Users `sub-{from}` to `sub-{to - 1}` of the platform.
async fn add_users(store: &Store, platform: i64, (from, to): (i64, i64)) {
    const SQL: &str = "WITH RECURSIVE n(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM n \
        WHERE i < $3) INSERT INTO users (platform_id, lms_sub, created_at, updated_at) \
        SELECT $1, 'sub-' || CAST(i AS TEXT), 0, 0 FROM n";
    macro_rules! insert {
        ($pool:expr) => {
            sqlx::query(SQL)
                .bind(platform)
                .bind(from)
                .bind(to - 1)
                .execute($pool)
                .await
                .map(drop)
        };
    }
    match store {
        Store::Sqlite(db) => insert!(&db.pool),
        Store::Postgres(db) => insert!(&db.pool),
    }
    .unwrap();
}

on_both_backends! {
    async fn planner_statistics_follow_the_tables_on_scheduler_rounds_and_imports(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let sqlite = matches!(store, Store::Sqlite(_));
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 1358, "Australia/Melbourne").await;
        let options = JobsOptions::from_config(&Config::for_database("sqlite://unused.db"));
        add_users(&store, platform.id.0, (0, 200)).await;
        assert_eq!(users_in_statistics(&store).await, None, "opening and migrating analyse nothing");

        schedule_syncs(&store, &options).await.unwrap();
        if sqlite {
            assert_eq!(users_in_statistics(&store).await, Some(200), "the first round, as a server starts");
        }

        add_users(&store, platform.id.0, (200, 4_000)).await;
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/imports/accumulator.txt");
        import_file(&store, course, Format::BbAccumulator, &file, DEFAULT_SESSION_GAP, &|_| {}).await.unwrap();
        if sqlite {
            let counted = users_in_statistics(&store).await.unwrap();
            assert!(counted > 2_000, "grown twentyfold, analysed again after the import: {counted}");
        }

        add_users(&store, platform.id.0, (4_000, 80_000)).await;
        schedule_syncs(&store, &options).await.unwrap();
        if sqlite {
            let (counted, per_platform) = users_statistics(&store).await.unwrap();
            assert!(counted > 40_000, "and on a later round: {counted}");
            // All 80,000 are one platform's: an analysis of every row says so, a sample of
            // a few thousand (what keeps a big database from being read whole) cannot.
            assert!(per_platform < 20_000, "analysed from a sample: {per_platform} per platform");
        }
    }
}
