//! The database: one `Store` that is SQLite or PostgreSQL, chosen by the URL, with the
//! migrations of both embedded; one file per aggregate holds that aggregate's queries.

mod admins;
pub mod ags;
pub mod backup;
pub(crate) mod bulk_read;
pub mod cohorts;
pub mod content;
pub mod course_events;
pub mod course_hours;
pub mod courses;
mod error;
pub mod forums;
pub mod gradebook;
pub mod groups;
pub mod hours;
mod ids;
pub mod ingest;
mod invites;
pub mod item_students;
pub mod jobs;
pub mod launches;
pub mod lms_courses;
pub mod lti_services;
pub mod memberships;
mod migrate;
pub mod outreach;
pub mod pending_activity;
pub mod platforms;
pub mod registry;
pub mod reports;
pub mod rest;
pub mod rest_grants;
pub mod rollups;
pub mod settings;
pub mod signing_keys;
mod sqlite_writer;
mod statements;
mod student_totals;
pub mod sync_runs;
pub mod synced_events;
pub mod text;
pub mod users;
pub(crate) mod wal_checkpoints;
pub mod windows;
mod write_tx;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};

use crate::activity::DEFAULT_QUEUE_EVENTS;
use crate::activity::postgres::{self, PostgresActivity};
use crate::activity::sealed_days::Sealing;
use crate::activity::sqlite::SqliteActivity;
use crate::activity::store::Activity;
pub use error::{StoreError, StoreResult};
pub use ids::*;
use registry::RegistryCache;
use sqlite_writer::SqliteWriter;
use wal_checkpoints::{Checkpoints, WRITER_AUTOCHECKPOINT};
pub(crate) use write_tx::BeginWrite;

/// Page cache of SQLite's activity writer (negative: KiB), so the index pages a batch of
/// events touches stay in memory from one batch to the next. Events arrive in time order,
/// so what a batch touches is the recent edge of each table: 16 MB imports and stores
/// pushes as fast as 64 MB did, and a 10M-row import's peak memory is 40 MB lower.
const ACTIVITY_WRITER_CACHE: &str = "-16384";

/// How much of the database file SQLite's pooled connections read through a memory map
/// (bytes) instead of copying each page in with a read call: the pages' reads of thousands
/// of rollup rows then cost no system call a page, and every connection shares the same
/// pages, the operating system's.
const READ_MMAP_SIZE: &str = "1073741824";

/// Statements slower than this are logged at [`SLOW_STATEMENT_LOG`]: a bulk write of
/// thousands of events is slow by design, so sqlx's warning would only interrupt an
/// import's progress output; `RUST_LOG=sqlx=debug` shows them.
const SLOW_STATEMENT: Duration = Duration::from_secs(1);
const SLOW_STATEMENT_LOG: log::LevelFilter = log::LevelFilter::Debug;

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// cloop's database: a pool of connections (on SQLite, with one more for activity).
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteDb),
    Postgres(PostgresDb),
}

/// SQLite's connections: a pool for everything, and (in its activity) one connection that
/// activity is written through. SQLite has one writer at a time, so writers queue there
/// instead of polling the file lock, and that connection's page cache stays warm between
/// batches.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    pub pool: SqlitePool,
    pub(crate) activity: Activity<SqliteActivity>,
    pub(crate) registry: Arc<RegistryCache>,
    /// The connection launches are written through, opened with `options` on first use.
    writer: Arc<tokio::sync::OnceCell<SqliteWriter>>,
    options: Arc<SqliteConnectOptions>,
    /// The shared lock that tells `cloop restore` the database is in use (none in memory).
    _in_use: Option<Arc<std::fs::File>>,
}

impl SqliteDb {
    /// The connection for short write transactions, opened on first use.
    pub(crate) async fn writer(&self) -> StoreResult<&SqliteWriter> {
        self.writer
            .get_or_try_init(|| SqliteWriter::open(&self.options))
            .await
    }
}

/// PostgreSQL's pool, and the writers that activity is recorded through.
#[derive(Clone, Debug)]
pub struct PostgresDb {
    pub pool: PgPool,
    pub(crate) activity: Activity<PostgresActivity>,
    pub(crate) registry: Arc<RegistryCache>,
}

/// Runs one body against whichever pool the store holds; the body is type-checked for
/// both backends, so a portable query is written once.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite(db) => {
                let $pool = &db.pool;
                $body
            }
            $crate::store::Store::Postgres(db) => {
                let $pool = &db.pool;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Opens the database named by `url` (`sqlite://…` is created if missing), with the
    /// default room for activity waiting to be written.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with_queue(url, DEFAULT_QUEUE_EVENTS).await
    }

    /// Opens the database named by `url`; at most `queue_events` events wait to be written
    /// (pushes past that are refused, imports wait).
    pub async fn connect_with_queue(url: &str, queue_events: usize) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, queue_events).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url, queue_events).await
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    async fn connect_sqlite(url: &str, queue_events: usize) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT);
        let target = options.get_filename().display().to_string();
        let connect_error = |source| StoreError::Connect {
            target: target.clone(),
            source,
        };
        let in_use = match options.get_filename() {
            file if file.as_os_str().is_empty() || file == std::path::Path::new(":memory:") => None,
            file => Some(Arc::new(
                backup::hold_in_use(file).map_err(|e| connect_error(sqlx::Error::Io(e)))?,
            )),
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone().pragma("mmap_size", READ_MMAP_SIZE))
            .await
            .map_err(connect_error)?;
        let activity_writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", ACTIVITY_WRITER_CACHE)
                    .pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT),
            )
            .await
            .map_err(connect_error)?;
        let activity = SqliteActivity {
            writer: activity_writer,
            checkpoints: Checkpoints::start(&options).await.map_err(connect_error)?,
            sealing: Sealing::default(),
        };
        Ok(Self::Sqlite(SqliteDb {
            pool,
            activity: Activity::new(activity, 1, queue_events),
            registry: Arc::default(),
            writer: Arc::default(),
            options: Arc::new(options),
            _in_use: in_use,
        }))
    }

    async fn connect_postgres(url: &str, queue_events: usize) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
            .log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT);
        let target = format!(
            "PostgreSQL {}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        // One direct connection first: it reports the real cause (refused, bad password,
        // no such database) where the pool would only report a timeout.
        let probe = tokio::time::timeout(
            Duration::from_secs(10),
            PgConnection::connect_with(&options),
        )
        .await
        .map_err(|_| StoreError::Connect {
            target: target.clone(),
            source: sqlx::Error::PoolTimedOut,
        })?
        .map_err(|source| StoreError::Connect {
            target: target.clone(),
            source,
        })?;
        probe.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { target, source })?;
        let activity = PostgresActivity { pool: pool.clone() };
        Ok(Self::Postgres(PostgresDb {
            activity: Activity::new(activity, postgres::WRITERS, queue_events),
            pool,
            registry: Arc::default(),
        }))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Connections open in the main pool, and how many of them are idle.
    pub fn pool_use(&self) -> (u32, usize) {
        on_pool!(self, pool => (pool.size(), pool.num_idle()))
    }

    /// The cached platform registrations of this store (shared by its clones).
    pub(crate) fn registry(&self) -> &RegistryCache {
        match self {
            Self::Sqlite(db) => &db.registry,
            Self::Postgres(db) => &db.registry,
        }
    }

    /// Keeps SQLite's query-planner statistics current: analyses the tables whose
    /// statistics are missing or no longer fit their size (without them some pages' reads
    /// take plans several times slower), from a sample of each index, so a big database is
    /// not read whole. PostgreSQL's autovacuum does this by itself. Run on each scheduler
    /// round (the first as `cloop serve` or `cloop worker` starts) and after an import or
    /// the demo's seed. Statistics only speed reads up, so a failure (the write lock busy)
    /// is logged, not returned.
    pub async fn refresh_planner_statistics(&self) {
        // Every table checked (0x10000), analysed where due (0x2), each index from a sample
        // (0x10: SQLite's bounded `analysis_limit`, without which it reads every row). On
        // the activity writer's connection, whose page cache holds what it reads: through
        // the readers' map of the file, the pages it touched stayed in the process's memory.
        if let Self::Sqlite(db) = self
            && let Err(e) = sqlx::query("PRAGMA optimize = 0x10012")
                .execute(&db.activity.store.writer)
                .await
        {
            tracing::warn!(error = %e, "refreshing the query planner's statistics failed");
        }
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> StoreResult<()> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Store::Sqlite(db) = self {
            db.activity.store.writer.close().await;
            db.activity.store.checkpoints.close().await;
        }
        on_pool!(self, pool => pool.close().await)
    }
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// How many students one `user_id IN (…)` read names at most.
pub(crate) const STUDENTS_PER_READ: usize = 100;

/// `$first, $first+1, …`: `n` numbered parameters, for an `IN (…)` list.
pub(crate) fn numbered_params(first: usize, n: usize) -> String {
    let list: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
    list.join(", ")
}

/// The students' rows of a per-student rollup, read by `user_id IN (…)` and nothing else:
/// a bound on its time column would lead the planner to the (course, time) key and a scan
/// of every student's rows. `$1` is the course; the students are bound after it.
pub(crate) fn by_students_sql(columns: &str, table: &str, students: usize) -> String {
    format!(
        "SELECT {columns} FROM {table} WHERE course_id = $1 AND user_id IN ({})",
        numbered_params(2, students)
    )
}

/// True when the error is a unique-constraint violation on either backend.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://cloop:hunter2@db:5432/cloop"),
            "postgres://cloop:***@db:5432/cloop"
        );
        assert_eq!(redact_url("sqlite://cloop.db"), "sqlite://cloop.db");
    }

    #[tokio::test]
    async fn rejects_other_databases() {
        let err = Store::connect("mysql://root:pw@x/db").await.unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedUrl(ref u) if u.contains("***")));
    }
}
