//! One SQLite connection on a thread of its own for short write transactions (a launch's),
//! its statements prepared once: one hand-off between threads a transaction.
//!
//! Through the pool each statement would cross to sqlx's worker thread and back, and
//! concurrent writers on separate connections wait on SQLite's busy handler, which sleeps;
//! here transactions queue in order on one connection instead.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use futures_util::FutureExt;
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::oneshot;

use super::statements::SqliteStatements;
use super::{StoreError, StoreResult};

/// Statements kept prepared on the writer's connection.
const PREPARED_STATEMENTS: usize = 32;

type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// The writer thread's queue; the thread ends, closing its connection, when the last
/// clone of the store drops it.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens a connection with `options` (the pool's) and starts its thread.
    pub(crate) async fn open(options: &SqliteConnectOptions) -> StoreResult<Self> {
        let connection = options.connect().await?;
        let runtime = tokio::runtime::Handle::current();
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, opened) = oneshot::channel();
        std::thread::Builder::new()
            .name("cloop-sqlite-writer".into())
            .spawn(move || serve(&runtime, connection, &queue, ready))
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        opened.await.map_err(|_| crashed())??;
        Ok(Self { jobs })
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction, committed when it returns `Ok`.
    /// The work's statements never wait, so it completes when first polled.
    pub(crate) async fn transaction<T: Send + 'static>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteStatements<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (reply, outcome) = oneshot::channel();
        let job: Job = Box::new(move |db| {
            let done = in_transaction(db, work);
            reply.send(done).ok();
        });
        self.jobs.send(job).map_err(|_| crashed())?;
        outcome.await.map_err(|_| crashed())?
    }
}

fn crashed() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}

fn in_transaction<T>(
    db: &mut rusqlite::Connection,
    work: impl AsyncFnOnce(&mut SqliteStatements<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let done = work(&mut SqliteStatements(&tx))
        .now_or_never()
        .expect("SQLite statements complete when first polled")?;
    tx.commit()?;
    Ok(done)
}

/// The writer thread: takes the connection's handle for good and runs each job on it. A
/// job that panics is rolled back and answered as a crashed worker; the next one runs.
fn serve(
    runtime: &tokio::runtime::Handle,
    mut connection: SqliteConnection,
    queue: &mpsc::Receiver<Job>,
    ready: oneshot::Sender<StoreResult<()>>,
) {
    let mut handle = match runtime.block_on(connection.lock_handle()) {
        Ok(handle) => handle,
        Err(e) => {
            ready.send(Err(e.into())).ok();
            return;
        }
    };
    // SAFETY: the handle stays locked, so only this thread uses the connection, until
    // after `db` drops; `from_handle` does not close it.
    let db = unsafe { rusqlite::Connection::from_handle(handle.as_raw_handle().as_ptr()) };
    let mut db = match db {
        Ok(db) => db,
        Err(e) => {
            ready.send(Err(e.into())).ok();
            return;
        }
    };
    db.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
    ready.send(Ok(())).ok();
    while let Ok(job) = queue.recv() {
        catch_unwind(AssertUnwindSafe(|| job(&mut db))).ok();
    }
    // The connection closes when it drops, after the handle and `db`.
    drop(db);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::statements::Statements;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_transaction_that_panics_is_rolled_back_and_the_next_one_runs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("writer.db"))
            .create_if_missing(true);
        let writer = SqliteWriter::open(&options).await.expect("writer");
        writer
            .transaction(async |tx| tx.execute("CREATE TABLE t (v INTEGER)", &[]).await)
            .await
            .expect("create");
        let crashed = writer
            .transaction(async |tx| -> StoreResult<()> {
                tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
                panic!("a bug half way through a transaction")
            })
            .await;
        assert!(
            matches!(
                crashed,
                Err(StoreError::Database(sqlx::Error::WorkerCrashed))
            ),
            "{crashed:?}"
        );
        writer
            .transaction(async |tx| tx.execute("INSERT INTO t VALUES (2)", &[]).await)
            .await
            .expect("the writer goes on");
        let stored = writer
            .transaction(async |tx| tx.integers("SELECT COUNT(*), SUM(v) FROM t", &[]).await)
            .await
            .expect("count");
        assert_eq!(stored, vec![1, 2]);
    }
}
