//! The query planner's statistics: on SQLite cloop keeps them itself (on start and on each
//! scheduler round), since without them some pages' reads take plans several times
//! slower; on PostgreSQL autovacuum keeps them and the refresh does nothing.

use cloop::Config;
use cloop::Store;
use cloop::jobs::{JobsOptions, schedule_syncs};

use crate::ingest_support::platform;
use crate::{fresh_store, on_both_backends};

/// `users`' row count as SQLite's statistics hold it (`None`: not analysed).
async fn users_in_statistics(store: &Store) -> Option<i64> {
    let Store::Sqlite(db) = store else {
        return None;
    };
    let stat: Option<(String,)> = sqlx::query_as(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = 'users' AND idx = 'sqlite_autoindex_users_1'",
    )
    .fetch_optional(&db.pool)
    .await
    .unwrap_or(None);
    stat.and_then(|(s,)| s.split(' ').next()?.parse().ok())
}

async fn add_users(store: &Store, platform: i64, from: i64, to: i64) {
    let sql = "WITH RECURSIVE n(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM n WHERE i < $3) \
               INSERT INTO users (platform_id, lms_sub, created_at, updated_at) \
               SELECT $1, 'sub-' || CAST(i AS TEXT), 0, 0 FROM n";
    let query = sqlx::query(sql).bind(platform).bind(from).bind(to - 1);
    match store {
        Store::Sqlite(db) => query.execute(&db.pool).await.map(drop),
        Store::Postgres(db) => sqlx::query(sql)
            .bind(platform)
            .bind(from)
            .bind(to - 1)
            .execute(&db.pool)
            .await
            .map(drop),
    }
    .unwrap();
}

on_both_backends! {
    async fn planner_statistics_are_gathered_on_start_and_each_scheduler_round(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await.id.0;
        add_users(&store, platform, 0, 2_000).await;
        store.migrate().await.unwrap();
        let sqlite = matches!(store, Store::Sqlite(_));
        if sqlite {
            assert_eq!(users_in_statistics(&store).await, Some(2_000), "analysed on start");
        }

        add_users(&store, platform, 2_000, 40_000).await;
        let options = JobsOptions::from_config(&Config::for_database("sqlite://unused.db"));
        schedule_syncs(&store, &options).await.unwrap();
        if sqlite {
            let counted = users_in_statistics(&store).await.unwrap();
            assert!(counted > 20_000, "grown twentyfold, analysed again: {counted}");
        }
    }
}
