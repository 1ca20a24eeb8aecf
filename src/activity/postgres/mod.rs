//! PostgreSQL's activity writer: events packed per course and minute (`pack`), and the
//! rollups brought up to date for exactly the new events, in one transaction per group of
//! batches, under an advisory lock per course.
//!
//! Every statement binds whole columns as arrays (`UNNEST`), so its text is the same
//! whatever the number of rows and PostgreSQL parses and plans it once per connection.

mod rollups;
mod students;

use foldhash::HashMap;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use super::clock::Bucketing;
use super::event::{NewActivity, StoredActivity};
use super::pack::{PackWrite, add_to_packs, minutes_of, unpack};
use super::queue::CourseWrite;
use super::store::{ActivityStore, ROLLUP_TABLES, counts_in_rollups};
use crate::store::{CourseId, StoreError, StoreResult};
use rollups::apply_rollups;

/// Advisory lock keys of activity writers: "CLOP" in the high half, the course id below.
pub const ROLLUP_LOCK_SPACE: i64 = 0x434C_4F50 << 32;

/// Packs a recount reads and folds in at a time.
const RECOUNT_PACKS: i64 = 1_000;

/// Writers in front of PostgreSQL: several courses' batches are written at once.
pub(crate) const WRITERS: usize = 4;

/// PostgreSQL's activity: the pool its writers take connections from.
#[derive(Clone, Debug)]
pub struct PostgresActivity {
    pub(crate) pool: PgPool,
}

impl ActivityStore for PostgresActivity {
    /// Courses come in id order, so writers take their locks in one order.
    async fn record(&self, writes: &[CourseWrite<'_>]) -> StoreResult<Vec<Vec<bool>>> {
        let mut tx = self.pool.begin().await?;
        let mut fresh_of = Vec::with_capacity(writes.len());
        for write in writes {
            let (course, events) = (write.course, &write.events);
            lock_course(&mut tx, course).await?;
            let fresh = store_events(&mut tx, course, events).await?;
            if let Some(bucketing) = write.bucketing {
                let new: Vec<&NewActivity> = events
                    .iter()
                    .zip(&fresh)
                    .filter_map(|(e, new)| new.then_some(*e))
                    .collect();
                apply_rollups(&mut tx, course, &new, bucketing).await?;
            }
            fresh_of.push(fresh);
        }
        tx.commit().await?;
        Ok(fresh_of)
    }

    /// PostgreSQL reads a student's days through its index and the table's rows alike:
    /// nothing is kept apart.
    async fn seal_finished_days(&self, _course: CourseId) -> StoreResult<()> {
        Ok(())
    }

    /// Under the course's lock, so no batch of the course is recorded meanwhile.
    async fn recount_rollups(&self, course: CourseId, bucketing: &Bucketing) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        lock_course(&mut tx, course).await?;
        for table in ROLLUP_TABLES {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE course_id = $1"
            )))
            .bind(course)
            .execute(&mut *tx)
            .await?;
        }
        let mut after = i64::MIN;
        loop {
            let packs: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT minute, events FROM activity_packs WHERE course_id = $1 AND minute > $2 \
                 ORDER BY minute LIMIT $3",
            )
            .bind(course)
            .bind(after)
            .bind(RECOUNT_PACKS)
            .fetch_all(&mut *tx)
            .await?;
            let Some((last, _)) = packs.last() else { break };
            after = *last;
            let mut events = Vec::new();
            for (minute, bytes) in &packs {
                events.extend(
                    unpack(*minute, bytes)?
                        .into_iter()
                        .filter(counts_in_rollups)
                        .map(StoredActivity::into_new),
                );
            }
            let events: Vec<&NewActivity> = events.iter().collect();
            apply_rollups(&mut tx, course, &events, bucketing).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One writer per course at a time: packs and sessions are read, then written.
async fn lock_course(tx: &mut PgConnection, course: CourseId) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ROLLUP_LOCK_SPACE ^ course.0)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Adds `events` (no key twice) to the packs of their minutes: the packs they touch are
/// read in one statement, merged in memory, and written back in one per kind (new minutes
/// by plain insert, grown ones over the stored); per event, whether its pack lacked it.
async fn store_events(
    tx: &mut PgConnection,
    course: CourseId,
    events: &[&NewActivity],
) -> StoreResult<Vec<bool>> {
    let mut stored: HashMap<i64, Vec<u8>> = sqlx::query_as(
        "SELECT minute, events FROM activity_packs WHERE course_id = $1 AND minute = ANY($2)",
    )
    .bind(course)
    .bind(minutes_of(events))
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let (fresh, writes) = add_to_packs(
        events,
        |minute| Ok(stored.remove(&minute)),
        StoreError::from,
    )?;
    let (grown, added): (Vec<PackWrite>, Vec<PackWrite>) =
        writes.into_iter().partition(|w| w.replaces);
    const INSERT: &str = "INSERT INTO activity_packs (course_id, minute, events) \
         SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[])";
    let update =
        format!("{INSERT} ON CONFLICT (course_id, minute) DO UPDATE SET events = excluded.events");
    for (sql, packs) in [(INSERT, added), (update.as_str(), grown)] {
        if packs.is_empty() {
            continue;
        }
        let (minutes, packs): (Vec<i64>, Vec<Vec<u8>>) =
            packs.into_iter().map(|w| (w.minute, w.events)).unzip();
        sqlx::query(AssertSqlSafe(sql))
            .bind(course)
            .bind(minutes)
            .bind(packs)
            .execute(&mut *tx)
            .await?;
    }
    Ok(fresh)
}
