//! SQLite's WAL checkpoints for the activity writer, run on a connection of their own so
//! that copying a batch's pages into the database file overlaps the next batch's work.
//!
//! A connection checkpoints by itself once its commit leaves the WAL past 1,000 pages,
//! inside that commit's call: for a bulk import that was a quarter of the writer's time
//! (copying each page again and two `fsync`s), on the one thread every event waits for.
//! The activity writer's own threshold is raised to a backstop, and once its commits have
//! written as many pages it asks this connection to checkpoint instead. A checkpoint that
//! finishes before the writer's next commit lets that commit start the WAL over; one still
//! copying does not, so under a bulk import the WAL grows to the writer's backstop.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{mpsc, oneshot};

/// The activity writer's own checkpoint threshold (pages, 64 MB): reached when checkpoints
/// here fall behind (a bulk import, or readers holding old pages), and then the writer
/// checkpoints inside its commit, as SQLite does by default.
pub(crate) const WRITER_AUTOCHECKPOINT: &str = "16384";

/// Pages the writer's commits add to the WAL before a checkpoint is asked for: SQLite's
/// own default threshold.
const PAGES_PER_CHECKPOINT: i64 = 1_000;

/// What the checkpointing connection's task is asked for.
enum Request {
    Checkpoint,
    Close(oneshot::Sender<()>),
}

/// Asks the checkpointing connection for checkpoints; its task ends, closing the
/// connection, when the store is closed or the last clone of it drops this.
#[derive(Clone, Debug)]
pub(crate) struct Checkpoints {
    requests: mpsc::Sender<Request>,
    /// Pages written since a checkpoint was last asked for.
    pages: Arc<AtomicI64>,
}

impl Checkpoints {
    /// Opens a connection with `options` and starts the task that checkpoints through it.
    pub(crate) async fn start(options: &SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let connection = options.connect().await?;
        let (requests, queue) = mpsc::channel(1);
        tokio::spawn(checkpoint_when_asked(connection, queue));
        Ok(Self {
            requests,
            pages: Arc::default(),
        })
    }

    /// A commit wrote `pages` to the WAL: a checkpoint is asked for once commits have
    /// written enough since the last. One already asked for and not begun covers it.
    pub(crate) fn after_commit(&self, pages: i64) {
        let written = self.pages.fetch_add(pages, Ordering::Relaxed) + pages;
        if written >= PAGES_PER_CHECKPOINT {
            self.pages.store(0, Ordering::Relaxed);
            self.requests.try_send(Request::Checkpoint).ok();
        }
    }

    /// Closes the connection, once any checkpoint under way is done.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.requests.send(Request::Close(done)).await.is_ok() {
            closed.await.ok();
        }
    }
}

/// Checkpoints once per request, without waiting on readers or the writer: a page a reader
/// may still need stays in the WAL for the next checkpoint.
async fn checkpoint_when_asked(
    mut connection: SqliteConnection,
    mut queue: mpsc::Receiver<Request>,
) {
    while let Some(request) = queue.recv().await {
        match request {
            Request::Checkpoint => {
                let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut connection)
                    .await;
                if let Err(e) = done {
                    tracing::warn!(error = %e, "checkpointing SQLite's write-ahead log failed");
                }
            }
            Request::Close(done) => {
                connection.close().await.ok();
                done.send(()).ok();
                return;
            }
        }
    }
    connection.close().await.ok();
}
