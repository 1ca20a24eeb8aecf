//! The storage layer's errors, and which of them mean "try again shortly": a database that
//! is down, restarting or busy is [`StoreError::Unavailable`], which the web answers 503.

use crate::activity::PackError;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database_url {0:?} names an unsupported database; use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    #[error("database_url is not valid: {0}")]
    InvalidUrl(String),
    #[error("cannot open the database at {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("applying database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// The database is out of reach or busy just now (connection refused or dropped, the
    /// server shutting down, no connection free in time, SQLite's write lock still held
    /// after the busy timeout); the caller should try again shortly.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// From the SQLite writer that drives SQLite's API directly (activity recording).
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("database error: {0}")]
    Pack(#[from] PackError),
    /// Too much is waiting to be written; the caller should try again shortly.
    #[error("{0}")]
    Busy(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    /// An error that says the server cannot be reached, not that the statement was wrong,
    /// becomes [`StoreError::Unavailable`].
    fn from(e: sqlx::Error) -> Self {
        if out_of_reach(&e) {
            Self::Unavailable(e.to_string())
        } else {
            Self::Database(e)
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
            Self::Unavailable(e.to_string())
        } else {
            Self::Sqlite(e)
        }
    }
}

/// True for the errors of a database that is down, restarting or overloaded: the pool
/// found no connection in time or is closed, the connection failed, PostgreSQL refused or
/// ended the session (connection exceptions, class 08; shutting down, crashed, starting
/// up, 57P01–57P03; too many connections, 53300), or SQLite stayed busy (SQLITE_BUSY and
/// its extended codes).
fn out_of_reach(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                let code = pg.code();
                code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
            } else {
                let sqlite = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some();
                sqlite
                    && db
                        .code()
                        .and_then(|code| code.parse::<i32>().ok())
                        .is_some_and(|code| code & 0xff == rusqlite::ffi::SQLITE_BUSY)
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_busy_past_its_timeout_means_try_again_shortly() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        assert!(matches!(StoreError::from(busy), StoreError::Unavailable(_)));
        let constraint = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            None,
        );
        assert!(matches!(
            StoreError::from(constraint),
            StoreError::Sqlite(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Database(_)
        ));
    }
}
