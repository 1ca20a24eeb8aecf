//! Online backups of a SQLite database while cloop serves (`VACUUM INTO`: one consistent
//! snapshot), their restore, and the lock that keeps a restore off a database in use.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use super::{Store, StoreError};

/// Why a backup or a restore could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "cloop backs up SQLite databases only; for PostgreSQL use pg_dump (see README, \"Backups\")"
    )]
    Postgres,
    #[error("{0} already exists; choose a new file for the backup")]
    Exists(PathBuf),
    #[error(
        "{0} is in use by a running cloop (serve, worker, import or sync); stop it before restoring"
    )]
    InUse(PathBuf),
    #[error("{path} is not a cloop database: {reason}")]
    NotABackup { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The file beside a SQLite database that every process using it holds a shared lock on.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}

/// Marks `db` in use for as long as the returned file is open (a shared lock, so any
/// number of cloop processes may hold it; a restore waits for none of them and refuses).
pub(crate) fn hold_in_use(db: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(db))?;
    file.try_lock_shared().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => std::io::Error::other(format!(
            "{} is being restored; try again when the restore is done",
            db.display()
        )),
        std::fs::TryLockError::Error(e) => e,
    })?;
    Ok(file)
}

/// The file a `sqlite:` database URL names.
pub fn sqlite_path(database_url: &str) -> Result<PathBuf, BackupError> {
    if !database_url.starts_with("sqlite:") {
        return Err(BackupError::Postgres);
    }
    let options = SqliteConnectOptions::from_str(database_url)
        .map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
    Ok(options.get_filename().to_path_buf())
}

impl Store {
    /// Writes a consistent copy of the database to `to` (a new file) while it stays in
    /// use: the copy is one read snapshot, compacted, written beside `to` and renamed.
    pub async fn backup(&self, to: &Path) -> Result<u64, BackupError> {
        let Store::Sqlite(db) = self else {
            return Err(BackupError::Postgres);
        };
        if to.exists() {
            return Err(BackupError::Exists(to.to_path_buf()));
        }
        let io = |source| BackupError::Io {
            path: to.to_path_buf(),
            source,
        };
        let partial = partial_path(to);
        let _ = std::fs::remove_file(&partial);
        let target = partial.to_str().ok_or_else(|| BackupError::Io {
            path: to.to_path_buf(),
            source: std::io::Error::other("the path is not UTF-8"),
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&db.pool)
            .await
            .map_err(StoreError::from)?;
        std::fs::rename(&partial, to).map_err(io)?;
        Ok(std::fs::metadata(to).map_err(io)?.len())
    }
}

/// Replaces the SQLite database at `database_url` with the backup `from`, after checking
/// the backup; refuses while any cloop process has the database open.
pub fn restore(database_url: &str, from: &Path) -> Result<(), BackupError> {
    let db = sqlite_path(database_url)?;
    check_backup(from)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { path, source }
    };
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(&db))
        .map_err(io(&db))?;
    lock.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => BackupError::InUse(db.clone()),
        std::fs::TryLockError::Error(source) => BackupError::Io {
            path: db.clone(),
            source,
        },
    })?;
    let partial = partial_path(&db);
    let _ = std::fs::remove_file(&partial);
    let source =
        rusqlite::Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    source.execute("VACUUM INTO ?1", [partial.to_string_lossy()])?;
    drop(source);
    for stale in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(stale);
        match std::fs::remove_file(PathBuf::from(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&db)(e)),
            _ => {}
        }
    }
    std::fs::rename(&partial, &db).map_err(io(&db))?;
    drop(lock);
    Ok(())
}

/// Whether `path` is a whole cloop database: SQLite's own check, and cloop's migrations.
fn check_backup(path: &Path) -> Result<(), BackupError> {
    let not = |reason: String| BackupError::NotABackup {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(not("no such file".into()));
    }
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| not(e.to_string()))?;
    let check: String = db
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| not(e.to_string()))?;
    if check != "ok" {
        return Err(not(format!("SQLite's check found damage: {check}")));
    }
    let migrations: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success",
            [],
            |r| r.get(0),
        )
        .map_err(|_| not("it holds no cloop schema".into()))?;
    if migrations == 0 {
        return Err(not("it holds no cloop schema".into()));
    }
    Ok(())
}

/// Where a copy is written before it is renamed into place.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}
