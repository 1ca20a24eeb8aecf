//! SQLite's activity writer: events packed per course and minute (`pack`), written with
//! their rollups through SQLite's own API on the store's one activity-writer connection,
//! one prepared statement per table reused for every row, in one write transaction.
//!
//! sqlx hands every row of a statement between threads and binds multi-row statements by
//! looking each parameter up by name; for batches of thousands of events that costs more
//! than SQLite's own work, so this path drives the connection directly.

use std::collections::hash_map::Entry;
use std::ptr::NonNull;

use foldhash::{HashMap, HashMapExt};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sqlx::SqlitePool;

use super::clock::Bucketing;
use super::event::{NewActivity, StoredActivity};
use super::hours::{course_hour_deltas, student_hour_deltas};
use super::item_views::add_item_views;
use super::pack::{PackError, add_to_packs, unpack};
use super::queue::CourseWrite;
use super::rollup::{CourseTotals, ItemDayChange, RollupDeltas};
use super::sealed_days::{Sealing, seal_days_before, sealing_cutoff};
use super::store::{ActivityStore, ROLLUP_TABLES, counts_in_rollups};
use super::student_list::student_list_text;
use super::upserts::{
    ADD_COURSE_DAYS, ADD_ITEM_TOTALS, ADD_STUDENT_HOURS, ADD_STUDENT_TOTALS, PUT_COURSE_HOURS,
};
use crate::store::bulk_read::on_connection;
use crate::store::wal_checkpoints::Checkpoints;
use crate::store::{CourseId, EpochMs, StoreResult};

/// Events a recount folds into the rollups at a time.
const RECOUNT_CHUNK: usize = 50_000;

/// SQLite's activity: the one connection every write goes through.
#[derive(Clone, Debug)]
pub struct SqliteActivity {
    pub(crate) writer: SqlitePool,
    /// Where the writer's commits are checkpointed (its own threshold is a backstop).
    pub(crate) checkpoints: Checkpoints,
    pub(crate) sealing: Sealing,
}

impl ActivityStore for SqliteActivity {
    /// One `BEGIN IMMEDIATE` transaction on the writer connection.
    async fn record(&self, writes: &[CourseWrite<'_>]) -> StoreResult<Vec<Vec<bool>>> {
        self.write(|db| {
            let mut fresh_of = Vec::with_capacity(writes.len());
            for write in writes {
                let fresh = store_events(db, write.course.0, &write.events)?;
                if let Some(bucketing) = write.bucketing {
                    let new: Vec<&NewActivity> = write
                        .events
                        .iter()
                        .zip(&fresh)
                        .filter_map(|(e, new)| new.then_some(*e))
                        .collect();
                    roll_up(db, write.course.0, &new, bucketing)?;
                    self.sealing
                        .seal_if_due(db, write.course.0, EpochMs::now().0)?;
                }
                fresh_of.push(fresh);
            }
            Ok(fresh_of)
        })
        .await
    }

    /// On the writer connection, so no batch is recorded meanwhile; the packs are read in
    /// time order and folded in a chunk at a time.
    async fn recount_rollups(&self, course: CourseId, bucketing: &Bucketing) -> StoreResult<()> {
        self.write(|db| {
            for table in ROLLUP_TABLES {
                db.execute(
                    &format!("DELETE FROM {table} WHERE course_id = ?1"),
                    [course.0],
                )?;
            }
            let mut packs = db.prepare(
                "SELECT minute, events FROM activity_packs WHERE course_id = ?1 ORDER BY minute",
            )?;
            let mut rows = packs.query([course.0])?;
            let mut chunk: Vec<NewActivity> = Vec::with_capacity(RECOUNT_CHUNK);
            let fold = |chunk: &mut Vec<NewActivity>| {
                let events: Vec<&NewActivity> = chunk.iter().collect();
                roll_up(db, course.0, &events, bucketing)?;
                chunk.clear();
                Ok::<_, rusqlite::Error>(())
            };
            while let Some(row) = rows.next()? {
                let minute: i64 = row.get(0)?;
                let bytes: Vec<u8> = row.get(1)?;
                let events = unpack(minute, &bytes).map_err(unreadable)?;
                chunk.extend(
                    events
                        .into_iter()
                        .filter(counts_in_rollups)
                        .map(StoredActivity::into_new),
                );
                if chunk.len() >= RECOUNT_CHUNK {
                    fold(&mut chunk)?;
                }
            }
            fold(&mut chunk)?;
            seal_days_before(db, course.0, sealing_cutoff(EpochMs::now().0))?;
            Ok(())
        })
        .await
    }

    async fn seal_finished_days(&self, course: CourseId) -> StoreResult<()> {
        self.write(|db| seal_days_before(db, course.0, sealing_cutoff(EpochMs::now().0)).map(drop))
            .await
    }
}

/// A stored pack that does not decode, as the driver's error.
fn unreadable(e: PackError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
}

impl SqliteActivity {
    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the activity writer's
    /// connection; once it is committed, a checkpoint is due.
    async fn write<T>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let (outcome, pages) = on_connection(&self.writer, |raw| {
            let outcome = in_transaction(raw, work)?;
            Ok((outcome, pages_written(raw)))
        })
        .await?;
        self.checkpoints.after_commit(pages);
        Ok(outcome)
    }
}

fn in_transaction<T>(
    raw: NonNull<rusqlite::ffi::sqlite3>,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    // SAFETY: `raw` is the handle of a pooled connection whose lock the caller holds for
    // the whole call, so nothing else uses it meanwhile; `from_handle` does not close it.
    let mut db = unsafe { Connection::from_handle(raw.as_ptr()) }?;
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcome = work(&tx)?;
    tx.commit()?;
    Ok(outcome)
}

/// The pages the connection has written to the WAL since this was last asked (SQLite's
/// count of pages written from its cache, reset by the asking).
fn pages_written(raw: NonNull<rusqlite::ffi::sqlite3>) -> i64 {
    let (mut pages, mut highest) = (0, 0);
    // SAFETY: `raw` is the locked connection's open handle; the two outputs are locals.
    unsafe {
        rusqlite::ffi::sqlite3_db_status(
            raw.as_ptr(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_WRITE,
            &mut pages,
            &mut highest,
            1,
        );
    }
    i64::from(pages)
}

/// Adds `events` (no key twice) to the packs of their minutes; returns, per event,
/// whether its pack lacked it.
fn store_events(
    db: &Connection,
    course: i64,
    events: &[&NewActivity],
) -> rusqlite::Result<Vec<bool>> {
    let mut stored_pack =
        db.prepare("SELECT events FROM activity_packs WHERE course_id = ?1 AND minute = ?2")?;
    let (fresh, writes) = add_to_packs(
        events,
        |minute| {
            stored_pack
                .query_row(params![course, minute], |r| r.get(0))
                .optional()
        },
        unreadable,
    )?;
    let mut new_pack =
        db.prepare("INSERT INTO activity_packs (course_id, minute, events) VALUES (?1, ?2, ?3)")?;
    let mut grown_pack =
        db.prepare("UPDATE activity_packs SET events = ?3 WHERE course_id = ?1 AND minute = ?2")?;
    for write in writes {
        let statement = if write.replaces {
            &mut grown_pack
        } else {
            &mut new_pack
        };
        statement.execute(params![course, write.minute, write.events])?;
    }
    Ok(fresh)
}

/// Folds the new events into the rollups and the students' sessions.
fn roll_up(
    db: &Connection,
    course: i64,
    new: &[&NewActivity],
    bucketing: &Bucketing,
) -> rusqlite::Result<()> {
    let mut deltas = RollupDeltas::from_new_events(new, &bucketing.clock);
    let day_item_views = deltas.student_day_item_views();
    let mut totals = CourseTotals::default();

    // Each student's views per item and per day over all days, read, added to and written
    // back whole: an item the row did not hold counts the student once towards the item's
    // unique students.
    let mut stored_student_items = db.prepare(
        "SELECT item_views, day_views FROM rollup_student_items \
         WHERE course_id = ?1 AND user_id = ?2",
    )?;
    let mut add_student_items = db.prepare(
        "UPDATE rollup_student_items SET item_views = ?3, day_views = ?4 \
         WHERE course_id = ?1 AND user_id = ?2",
    )?;
    let mut new_student_items = db.prepare(
        "INSERT INTO rollup_student_items (course_id, user_id, item_views, day_views) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for student in deltas.student_views() {
        let user = student.user;
        let stored: Option<(String, String)> = stored_student_items
            .query_row(params![course, user], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (items, days) = stored.as_ref().map_or(("", ""), |(i, d)| (i, d));
        let item_views = add_item_views(items, &student.items, |item| {
            totals.new_item_student(item);
        });
        let day_views = add_item_views(days, &student.days, |_| {});
        let row = params![course, user, item_views, day_views];
        if stored.is_some() {
            add_student_items.execute(row)?;
        } else {
            new_student_items.execute(row)?;
        }
    }
    // Sessions: merge the stored sessions near the new events with those events.
    if let Some((low, high)) = deltas.time_window() {
        let gap = bucketing.session_gap_ms;
        let mut near = db.prepare(
            "SELECT user_id, started_at, last_event_at FROM student_sessions \
             WHERE course_id = ?1 AND last_event_at >= ?2 AND started_at <= ?3",
        )?;
        let stored = near
            .query_map(params![course, low - gap, high + gap], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<rusqlite::Result<Vec<(i64, i64, i64)>>>()?;
        let edits = deltas.settle_sessions(stored, gap, &bucketing.clock);
        let mut delete = db.prepare(
            "DELETE FROM student_sessions WHERE course_id = ?1 AND user_id = ?2 AND started_at = ?3",
        )?;
        for (user, start) in edits.removed {
            delete.execute(params![course, user, start])?;
        }
        let mut insert = db.prepare(
            "INSERT INTO student_sessions (course_id, user_id, started_at, last_event_at) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (user, start, last) in edits.added {
            insert.execute(params![course, user, start, last])?;
        }
    }
    // Each row's views per item are read, added to and written back whole; an item the row
    // did not hold is that student's first view of it that day. A row left with nothing
    // (its one session moved to the day before) goes, as a recount would never write it.
    let mut stored_student_day = db.prepare(
        "SELECT views, sessions, active_ms, item_views FROM rollup_student_day \
         WHERE course_id = ?1 AND day = ?2 AND user_id = ?3",
    )?;
    let mut emptied_student_day = db.prepare(
        "DELETE FROM rollup_student_day WHERE course_id = ?1 AND day = ?2 AND user_id = ?3",
    )?;
    let mut add_student_day = db.prepare(
        "UPDATE rollup_student_day SET views = views + ?4, sessions = sessions + ?5, \
         active_ms = active_ms + ?6, item_views = ?7 \
         WHERE course_id = ?1 AND day = ?2 AND user_id = ?3",
    )?;
    let mut new_student_day = db.prepare(
        "INSERT INTO rollup_student_day (course_id, day, user_id, views, sessions, active_ms, \
         item_views) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut student_days = deltas.student_changes();
    student_days.sort_unstable();
    for ((day, user), change) in student_days {
        let stored: Option<((i64, i64, i64), String)> = stored_student_day
            .query_row(params![course, day, user], |r| {
                Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?))
            })
            .optional()?;
        let added = day_item_views
            .get(&(day, user))
            .map_or(&[][..], Vec::as_slice);
        let stored_views = stored.as_ref().map_or("", |(_, text)| text.as_str());
        let item_views = add_item_views(stored_views, added, |item| {
            deltas.first_view(day, item, user);
        });
        let before = stored.as_ref().map(|(counts, _)| *counts);
        let (views, sessions, active_ms) = before.unwrap_or_default();
        let emptied = (views + change.0, sessions + change.1, active_ms + change.2) == (0, 0, 0)
            && item_views.is_empty();
        let row = params![course, day, user, change.0, change.1, change.2, item_views];
        match (before.is_some(), emptied) {
            (true, true) => emptied_student_day.execute(params![course, day, user])?,
            (true, false) => add_student_day.execute(row)?,
            (false, true) => 0,
            (false, false) => new_student_day.execute(row)?,
        };
        totals.student_day(day, user, change, (views, sessions));
    }

    // Each item's views that day, with the students who first viewed it that day.
    let mut group_of = db.prepare("SELECT item_group FROM content_items WHERE id = ?1")?;
    let mut groups: HashMap<i64, Option<String>> = HashMap::new();
    let mut add_content_day = db.prepare(
        "UPDATE rollup_content_day SET views = views + ?4, unique_students = unique_students + ?5, \
         students = students || ?6 WHERE course_id = ?1 AND day = ?2 AND content_item_id = ?3",
    )?;
    let mut new_content_day = db.prepare(
        "INSERT INTO rollup_content_day (course_id, day, content_item_id, views, unique_students, \
         students) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut content_days: Vec<((i64, i64), ItemDayChange)> = deltas.content.drain().collect();
    content_days.sort_unstable_by_key(|(key, _)| *key);
    for ((day, item), mut change) in content_days {
        let views = change.views;
        let uniques = change.first_viewers.len() as i64;
        let students = student_list_text(&mut change.first_viewers);
        let row = params![course, day, item, views, uniques, students];
        let created = add_content_day.execute(row)? == 0;
        if created {
            new_content_day.execute(row)?;
        }
        let group = match groups.entry(item) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => {
                slot.insert(group_of.query_row([item], |r| r.get(0)).optional()?)
            }
        };
        totals.item_day(day, item, views, created, group.as_deref());
    }

    // The course-wide rollups.
    let mut course_day = db.prepare(&one_row(ADD_COURSE_DAYS))?;
    for (day, c) in &totals.days {
        course_day.execute(params![
            course, day, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
        ])?;
    }
    let mut student_total = db.prepare(&one_row(ADD_STUDENT_TOTALS))?;
    for (user, t) in &totals.students {
        student_total.execute(params![
            course,
            user,
            t.views,
            t.sessions,
            t.active_ms,
            t.last_view_day
        ])?;
    }
    let mut item_total = db.prepare(&one_row(ADD_ITEM_TOTALS))?;
    for (item, (views, uniques)) in &totals.items {
        item_total.execute(params![course, item, views, uniques])?;
    }
    let mut student_hour = db.prepare(&one_row(ADD_STUDENT_HOURS))?;
    for row in student_hour_deltas(new.iter().copied()) {
        student_hour.execute(params![
            course,
            row.hour,
            row.user,
            row.item_views,
            row.instants
        ])?;
    }
    let mut stored_course_hour = db.prepare(
        "SELECT user_views, item_views FROM rollup_course_hour WHERE course_id = ?1 AND hour = ?2",
    )?;
    let mut course_hour = db.prepare(&one_row(PUT_COURSE_HOURS))?;
    for delta in course_hour_deltas(new.iter().copied()) {
        let stored: Option<(String, String)> = stored_course_hour
            .query_row(params![course, delta.hour], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (users, items) = delta.merged(stored.as_ref().map(|(u, i)| (u.as_str(), i.as_str())));
        course_hour.execute(params![course, delta.hour, users, items])?;
    }
    Ok(())
}

/// A single-row statement from an upsert's parts: `?1 … ?n` for its columns.
fn one_row((prefix, columns, conflict): (&str, usize, &str)) -> String {
    let placeholders: Vec<String> = (1..=columns).map(|n| format!("?{n}")).collect();
    format!("{prefix}({}) {conflict}", placeholders.join(", "))
}
