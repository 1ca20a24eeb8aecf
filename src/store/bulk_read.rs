//! Reads of many rows, written once for both databases: through sqlx on PostgreSQL, and on
//! SQLite through SQLite's own API on a pooled connection, decoded where SQLite keeps them.
//!
//! sqlx-sqlite builds every row as values of its own and hands each between threads:
//! about 3 µs a row against SQLite's 0.2 µs, so a page reading 40,000 student-days spent
//! 120 ms there. The pages' rollup reads (thousands of rows) come through here.

use std::ptr::NonNull;

use rusqlite::Connection;
use rusqlite::types::FromSql;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, SqlitePool};

use super::{PostgresDb, Store, StoreResult};

/// A row decoded from SQLite's API, column by column in the order the query selects them.
pub(crate) trait SqliteRow: Sized {
    fn decode(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

/// A row both databases can give: what [`Store::read_rows`] returns.
pub(crate) trait BulkRow:
    SqliteRow + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T: SqliteRow + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin> BulkRow for T {}

macro_rules! tuple_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromSql),+> SqliteRow for ($($t,)+) {
            fn decode(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}

tuple_row!(A 0);
tuple_row!(A 0, B 1);
tuple_row!(A 0, B 1, C 2);
tuple_row!(A 0, B 1, C 2, D 3);
tuple_row!(A 0, B 1, C 2, D 3, E 4);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5);

/// Implements [`SqliteRow`] for a struct whose fields the query selects in this order.
macro_rules! sqlite_row {
    ($name:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::store::bulk_read::SqliteRow for $name {
            fn decode(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut column = 0usize..;
                Ok(Self {
                    $($field: row.get(column.next().expect("a next column"))?,)+
                })
            }
        }
    };
}
pub(crate) use sqlite_row;

impl Store {
    /// Every row of `sql`, whose parameters `$1`, `$2`, … are `args`.
    pub(crate) async fn read_rows<T: BulkRow>(
        &self,
        sql: &'static str,
        args: &[i64],
    ) -> StoreResult<Vec<T>> {
        self.read_built_rows(sql, args).await
    }

    /// [`Store::read_rows`] for a statement put together from the store's own fragments
    /// (never from input), such as a list of `$n` per student.
    pub(crate) async fn read_built_rows<T: BulkRow>(
        &self,
        sql: &str,
        args: &[i64],
    ) -> StoreResult<Vec<T>> {
        match self {
            Store::Sqlite(db) => {
                on_connection(&db.pool, |raw| {
                    // SAFETY: `raw` is a pooled connection's handle, locked for this call.
                    let db = unsafe { Connection::from_handle(raw.as_ptr()) }?;
                    read(&db, sql, args)
                })
                .await
            }
            Store::Postgres(PostgresDb { pool, .. }) => {
                let mut query = sqlx::query_as::<_, T>(AssertSqlSafe(sql));
                for arg in args {
                    query = query.bind(*arg);
                }
                Ok(query.fetch_all(pool).await?)
            }
        }
    }
}

fn read<T: SqliteRow>(db: &Connection, sql: &str, args: &[i64]) -> rusqlite::Result<Vec<T>> {
    let mut statement = db.prepare(sql)?;
    for (i, arg) in args.iter().enumerate() {
        let name = format!("${}", i + 1);
        let index = statement
            .parameter_index(&name)?
            .ok_or(rusqlite::Error::InvalidParameterName(name))?;
        statement.raw_bind_parameter(index, arg)?;
    }
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(T::decode(row)?);
    }
    Ok(out)
}

/// Runs `work` with the raw handle of one of `pool`'s connections, locked meanwhile. The
/// work is synchronous: on a multi-threaded runtime other tasks move off this thread.
pub(crate) async fn on_connection<T>(
    pool: &SqlitePool,
    work: impl FnOnce(NonNull<rusqlite::ffi::sqlite3>) -> rusqlite::Result<T>,
) -> StoreResult<T> {
    let mut conn = pool.acquire().await?;
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle();
    let outcome = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| work(raw)),
        _ => work(raw),
    };
    Ok(outcome?)
}
