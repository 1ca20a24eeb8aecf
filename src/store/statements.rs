//! A short write transaction written once for both databases: on PostgreSQL each statement
//! goes through sqlx, on SQLite through SQLite's own API on one locked connection.
//!
//! sqlx-sqlite runs every statement on a worker thread of its own, two thread switches a
//! statement; a launch's eight statements spent more CPU switching than writing.

use std::future::Future;

use rusqlite::ffi::{
    SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE,
};
use sqlx::{PgConnection, Row};

use super::{StoreError, StoreResult};

/// A statement's parameter, bound as `$1`, `$2`, … in order.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Param<'a> {
    Int(i64),
    Text(&'a str),
    MaybeText(Option<&'a str>),
    Bool(bool),
}

/// The statements of one open transaction.
pub(crate) trait Statements {
    /// Runs a statement that returns no rows.
    fn execute(&mut self, sql: &str, params: &[Param<'_>])
    -> impl Future<Output = StoreResult<()>>;

    /// The integer columns of the one row a statement returns.
    fn integers(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = StoreResult<Vec<i64>>>;

    /// The first column, text, of the one row a statement returns.
    fn text(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = StoreResult<String>>;
}

/// Why the database refused a statement, where a caller decides by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unique,
    ForeignKey,
}

/// The constraint a failed statement broke, if it was a unique or foreign key.
pub(crate) fn refusal(error: &StoreError) -> Option<Refusal> {
    match error {
        StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Some(Refusal::Unique)
        }
        StoreError::Database(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            Some(Refusal::ForeignKey)
        }
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => match e.extended_code {
            SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY => Some(Refusal::Unique),
            SQLITE_CONSTRAINT_FOREIGNKEY => Some(Refusal::ForeignKey),
            _ => None,
        },
        _ => None,
    }
}

/// PostgreSQL: the statements of a sqlx transaction.
pub(crate) struct PostgresStatements<'c>(pub &'c mut PgConnection);

fn bound<'q>(
    sql: &'q str,
    params: &[Param<'q>],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    params.iter().fold(
        sqlx::query(sqlx::AssertSqlSafe(sql)),
        |query, param| match *param {
            Param::Int(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
            Param::MaybeText(v) => query.bind(v),
            Param::Bool(v) => query.bind(v),
        },
    )
}

impl Statements for PostgresStatements<'_> {
    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<()> {
        bound(sql, params).execute(&mut *self.0).await?;
        Ok(())
    }

    async fn integers(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<i64>> {
        let row = bound(sql, params).fetch_one(&mut *self.0).await?;
        Ok((0..row.len())
            .map(|i| row.try_get::<i64, _>(i))
            .collect::<Result<_, _>>()?)
    }

    async fn text(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<String> {
        let row = bound(sql, params).fetch_one(&mut *self.0).await?;
        Ok(row.try_get(0)?)
    }
}

/// SQLite: statements on a connection whose transaction is open; each is done when its
/// future is first polled.
pub(crate) struct SqliteStatements<'c>(pub &'c rusqlite::Connection);

impl SqliteStatements<'_> {
    fn prepared(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> rusqlite::Result<rusqlite::CachedStatement<'_>> {
        let mut statement = self.0.prepare_cached(sql)?;
        for (i, param) in params.iter().enumerate() {
            let name = format!("${}", i + 1);
            let index = statement
                .parameter_index(&name)?
                .ok_or(rusqlite::Error::InvalidParameterName(name))?;
            match *param {
                Param::Int(v) => statement.raw_bind_parameter(index, v),
                Param::Text(v) => statement.raw_bind_parameter(index, v),
                Param::MaybeText(v) => statement.raw_bind_parameter(index, v),
                Param::Bool(v) => statement.raw_bind_parameter(index, v),
            }?;
        }
        Ok(statement)
    }

    fn one_row<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        read: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let mut statement = self.prepared(sql, params)?;
        let mut rows = statement.raw_query();
        match rows.next()? {
            Some(row) => Ok(read(row)?),
            None => Err(StoreError::Database(sqlx::Error::RowNotFound)),
        }
    }
}

impl Statements for SqliteStatements<'_> {
    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<()> {
        self.prepared(sql, params)?.raw_execute()?;
        Ok(())
    }

    async fn integers(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<i64>> {
        self.one_row(sql, params, |row| {
            (0..row.as_ref().column_count())
                .map(|i| row.get::<_, i64>(i))
                .collect()
        })
    }

    async fn text(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<String> {
        self.one_row(sql, params, |row| row.get(0))
    }
}

/// Runs `work` in one transaction on a connection of `pool`, committed when it returns
/// `Ok`.
pub(crate) async fn in_postgres_transaction<T>(
    pool: &sqlx::PgPool,
    work: impl AsyncFnOnce(&mut PostgresStatements<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut tx = pool.begin().await?;
    let done = work(&mut PostgresStatements(&mut tx)).await?;
    tx.commit().await?;
    Ok(done)
}
