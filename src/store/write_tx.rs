//! Write transactions that take SQLite's write lock as they begin: a deferred one that
//! reads first fails at its first write (SQLITE_BUSY_SNAPSHOT) if another connection wrote.

use std::future::Future;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// A pool that begins transactions meant to write.
pub(crate) trait BeginWrite {
    type Engine: sqlx::Database;

    /// A transaction for reads followed by writes. On SQLite it is `BEGIN IMMEDIATE`, so
    /// it waits (up to the busy timeout) for the writer before it reads, not after: the
    /// activity writer and a sync or a launch then take turns instead of one failing with
    /// "database is locked". PostgreSQL's transactions need nothing of the kind.
    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Self::Engine>>> + Send;
}

impl BeginWrite for SqlitePool {
    type Engine = Sqlite;

    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Sqlite>>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Engine = Postgres;

    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Postgres>>> + Send {
        self.begin()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::store::Store;

    use super::*;

    /// The interleaving a sync and the activity writer fell into: a transaction reads, another
    /// connection writes, then the transaction writes.
    #[tokio::test]
    async fn a_write_transaction_that_reads_first_is_not_failed_by_a_write_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let Store::Sqlite(db) = Store::connect(&url).await.unwrap() else {
            unreachable!("a SQLite URL")
        };
        let pool = db.pool.clone();
        sqlx::query("CREATE TABLE t (n INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        let mut tx = pool.begin_write().await.unwrap();
        let (before,): (i64,) = sqlx::query_as("SELECT count(*) FROM t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let other = tokio::spawn({
            let pool = pool.clone();
            async move { sqlx::query("INSERT INTO t VALUES (2)").execute(&pool).await }
        });
        // Time for the other write to commit, were the transaction not holding the lock.
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqlx::query("INSERT INTO t VALUES ($1)")
            .bind(before + 1)
            .execute(&mut *tx)
            .await
            .expect("no SQLITE_BUSY_SNAPSHOT");
        tx.commit().await.unwrap();
        other
            .await
            .unwrap()
            .expect("the other write waits its turn");
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT n FROM t ORDER BY rowid")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(rows, [(1,), (2,)], "the transaction wrote first");
    }
}
