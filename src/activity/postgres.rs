//! PostgreSQL's activity store: a row per event, and the rollups brought up to date for
//! exactly the new rows, in one transaction per group of batches.
//!
//! Every statement binds whole columns as arrays (`UNNEST`), so its text is the same
//! whatever the number of rows and PostgreSQL parses and plans it once per connection.

use foldhash::{HashMap, HashSet};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use super::clock::Bucketing;
use super::event::{ActivityCursor, ActivityKind, ActivitySource, NewActivity, StoredActivity};
use super::hours::{course_hour_deltas, student_hour_deltas};
use super::item_views::add_item_views;
use super::queue::CourseWrite;
use super::rollup::{CourseTotals, RollupDeltas};
use super::store::{ActivityStore, ROLLUP_TABLES, counts_in_rollups};
use super::upserts::{
    ADD_COURSE_DAYS, ADD_ITEM_TOTALS, ADD_STUDENT_HOURS, ADD_STUDENT_TOTALS, PUT_COURSE_HOURS,
};
use crate::store::{ContentItemId, CourseId, EpochMs, StoreError, StoreResult, UserId};

/// Advisory lock keys of rollup writers: "CLOP" in the high half, the course id below.
pub const ROLLUP_LOCK_SPACE: i64 = 0x434C_4F50 << 32;

/// Batches at least this large go through `COPY`.
const BULK_THRESHOLD: usize = 2_000;

/// Events read per page of a course's events (and folded in at a time by a recount).
const ROWS_PER_PAGE: i64 = 50_000;

/// Writers in front of PostgreSQL: several courses' batches are written at once.
pub(crate) const WRITERS: usize = 4;

/// PostgreSQL's activity: the pool every read and write goes through.
#[derive(Clone, Debug)]
pub struct PostgresActivity {
    pub(crate) pool: PgPool,
}

impl ActivityStore for PostgresActivity {
    async fn record(&self, writes: &[CourseWrite<'_>]) -> StoreResult<Vec<Vec<bool>>> {
        record_courses(&self.pool, writes).await
    }

    async fn page(
        &self,
        course: CourseId,
        cursor: &ActivityCursor,
    ) -> StoreResult<Vec<StoredActivity>> {
        let mut tx = self.pool.acquire().await?;
        read_page(&mut tx, course, cursor).await
    }

    async fn latest(&self, course: CourseId, not_after: EpochMs) -> StoreResult<Option<EpochMs>> {
        Ok(sqlx::query_scalar(
            "SELECT MAX(occurred_at) FROM activity WHERE course_id = $1 AND occurred_at <= $2",
        )
        .bind(course)
        .bind(not_after)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Under the course's advisory lock, so no batch of the course is recorded meanwhile.
    async fn recount_rollups(&self, course: CourseId, bucketing: &Bucketing) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ROLLUP_LOCK_SPACE ^ course.0)
            .execute(&mut *tx)
            .await?;
        for table in ROLLUP_TABLES {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE course_id = $1"
            )))
            .bind(course)
            .execute(&mut *tx)
            .await?;
        }
        let mut cursor = ActivityCursor::default();
        loop {
            let page = read_page(&mut tx, course, &cursor).await?;
            if page.is_empty() {
                break;
            }
            cursor.advance(&page);
            let events: Vec<NewActivity> = page
                .into_iter()
                .filter(counts_in_rollups)
                .map(StoredActivity::into_new)
                .collect();
            let events: Vec<&NewActivity> = events.iter().collect();
            apply_rollups(&mut tx, course, &events, bucketing).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A stored event row.
#[derive(sqlx::FromRow)]
struct ActivityRow {
    user_id: Option<i64>,
    content_item_id: Option<i64>,
    kind: String,
    occurred_at: i64,
    source: String,
    idempotency_key: String,
}

impl TryFrom<ActivityRow> for StoredActivity {
    type Error = StoreError;

    fn try_from(row: ActivityRow) -> StoreResult<Self> {
        let unknown = |what: &str, text: &str| {
            StoreError::Conflict(format!("a stored event has an unknown {what} {text:?}"))
        };
        Ok(Self {
            user_id: row.user_id.map(UserId),
            content_item_id: row.content_item_id.map(ContentItemId),
            kind: ActivityKind::parse(&row.kind).ok_or_else(|| unknown("kind", &row.kind))?,
            occurred_at: EpochMs(row.occurred_at),
            source: ActivitySource::parse(&row.source)
                .ok_or_else(|| unknown("source", &row.source))?,
            idempotency_key: row.idempotency_key,
        })
    }
}

/// The course's events after `cursor`, a page of them.
async fn read_page(
    db: &mut PgConnection,
    course: CourseId,
    cursor: &ActivityCursor,
) -> StoreResult<Vec<StoredActivity>> {
    let (after_at, after_key) = cursor.0.clone().unwrap_or((i64::MIN, String::new()));
    let rows: Vec<ActivityRow> = sqlx::query_as(
        "SELECT user_id, content_item_id, kind, occurred_at, source, idempotency_key \
         FROM activity WHERE course_id = $1 \
         AND (occurred_at, idempotency_key) > ($2, $3) \
         ORDER BY occurred_at, idempotency_key LIMIT $4",
    )
    .bind(course)
    .bind(after_at)
    .bind(&after_key)
    .bind(ROWS_PER_PAGE)
    .fetch_all(&mut *db)
    .await?;
    rows.into_iter().map(StoredActivity::try_from).collect()
}

/// An event's identity within its course: its instant and idempotency key.
type EventKey = (i64, String);

/// `INSERT INTO t (course_id, …) SELECT $1, * FROM UNNEST($2::T[], …) suffix` from a
/// shared `(prefix, columns, suffix)` statement whose prefix ends in `VALUES `: the course
/// is `$1`, and every other column's array is of `types` (one per column after the course).
fn unnest_insert(
    (prefix, columns, suffix): (&str, usize, &str),
    types: &[&str],
) -> AssertSqlSafe<String> {
    debug_assert_eq!(columns, types.len() + 1);
    let head = prefix.trim_end().trim_end_matches("VALUES").trim_end();
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", i + 2))
        .collect();
    AssertSqlSafe(format!(
        "{head} SELECT $1, * FROM UNNEST({}) {suffix}",
        arrays.join(", ")
    ))
}

/// Stores each course's new events among its distinct `events` and folds them into its
/// rollups (when it has a bucketing), all in one transaction; per course, per event,
/// whether it was new. Courses come in id order, so writers take their locks in one order.
async fn record_courses(pool: &PgPool, courses: &[CourseWrite<'_>]) -> StoreResult<Vec<Vec<bool>>> {
    let mut tx = pool.begin().await?;
    let mut fresh_of = Vec::with_capacity(courses.len());
    for write in courses {
        let (course, events) = (write.course, &write.events);
        if write.bucketing.is_some() {
            // One writer per course at a time: session merging reads, then writes.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ROLLUP_LOCK_SPACE ^ course.0)
                .execute(&mut *tx)
                .await?;
        }
        let inserted: Vec<EventKey> = if events.len() >= BULK_THRESHOLD {
            copy_activity(&mut tx, course, events).await?
        } else {
            insert_activity(&mut tx, course, events).await?
        };
        let inserted: HashSet<(i64, &str)> = inserted
            .iter()
            .map(|(at, key)| (*at, key.as_str()))
            .collect();
        let fresh: Vec<bool> = events.iter().map(|e| inserted.contains(&e.key())).collect();
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

/// Inserts `rows` (no key twice); returns the keys that were new.
async fn insert_activity(
    tx: &mut PgConnection,
    course: CourseId,
    rows: &[&NewActivity],
) -> StoreResult<Vec<EventKey>> {
    let column = |f: fn(&NewActivity) -> Option<i64>| rows.iter().map(|e| f(e)).collect::<Vec<_>>();
    let text = |f: for<'e> fn(&'e NewActivity) -> Option<&'e str>| {
        rows.iter().map(|e| f(e)).collect::<Vec<_>>()
    };
    Ok(sqlx::query_as(
        "INSERT INTO activity (course_id, user_id, content_item_id, kind, occurred_at, \
         source, idempotency_key, session_ref) \
         SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::bigint[], \
         $6::text[], $7::text[], $8::text[]) \
         ON CONFLICT (course_id, occurred_at, idempotency_key) DO NOTHING \
         RETURNING occurred_at, idempotency_key",
    )
    .bind(course)
    .bind(column(|e| e.user.map(|u| u.0)))
    .bind(column(|e| e.content_item.map(|c| c.0)))
    .bind(text(|e| Some(e.kind.as_str())))
    .bind(column(|e| Some(e.occurred_at.0)))
    .bind(text(|e| Some(e.source.as_str())))
    .bind(text(|e| Some(e.idempotency_key.as_str())))
    .bind(text(|e| e.session_ref.as_deref()))
    .fetch_all(&mut *tx)
    .await?)
}

/// Applies the rollup changes of the new rows inside the open transaction (SQLite's
/// writer does the same through its own API).
async fn apply_rollups(
    tx: &mut PgConnection,
    course: CourseId,
    new: &[&NewActivity],
    bucketing: &Bucketing,
) -> StoreResult<()> {
    let mut deltas = RollupDeltas::from_new_events(new, &bucketing.clock);
    let day_item_views = deltas.student_day_item_views();
    let mut totals = CourseTotals::default();

    // Each student's views per item over all days, read, added to and written back whole
    // (the advisory lock keeps other writers of the course out meanwhile): an item a row
    // did not hold counts the student once towards the item's unique students.
    let student_items = deltas.student_item_views();
    let users: Vec<i64> = student_items.iter().map(|(user, _)| *user).collect();
    let stored: HashMap<i64, String> = sqlx::query_as(
        "SELECT user_id, item_views FROM rollup_student_items \
         WHERE course_id = $1 AND user_id = ANY($2)",
    )
    .bind(course)
    .bind(&users)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let merged: Vec<String> = student_items
        .iter()
        .map(|(user, added)| {
            let stored = stored.get(user).map_or("", String::as_str);
            add_item_views(stored, added, |item| totals.new_item_student(item))
        })
        .collect();
    sqlx::query(
        "INSERT INTO rollup_student_items (course_id, user_id, item_views) \
         SELECT $1, * FROM UNNEST($2::bigint[], $3::text[]) \
         ON CONFLICT (course_id, user_id) DO UPDATE SET item_views = excluded.item_views",
    )
    .bind(course)
    .bind(&users)
    .bind(&merged)
    .execute(&mut *tx)
    .await?;

    // Each student-day's views per item: the stored ones with these events' added, written
    // back whole with the student-day below (the advisory lock keeps other writers of the
    // course out meanwhile). An item a row did not hold is that student's first view of it
    // that day.
    let (days, day_users): (Vec<i64>, Vec<i64>) = day_item_views.keys().copied().unzip();
    let mut item_views: HashMap<(i64, i64), String> = sqlx::query_as::<_, (i64, i64, String)>(
        "SELECT d.day, d.user_id, d.item_views FROM rollup_student_day d \
         JOIN UNNEST($2::bigint[], $3::bigint[]) AS k(day, user_id) \
         ON d.day = k.day AND d.user_id = k.user_id WHERE d.course_id = $1",
    )
    .bind(course)
    .bind(&days)
    .bind(&day_users)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(day, user, stored)| ((day, user), stored))
    .collect();
    for (key, added) in &day_item_views {
        let stored = item_views.get(key).map_or("", String::as_str);
        let merged = add_item_views(stored, added, |item| {
            deltas.content.entry((key.0, item)).or_default().1 += 1;
        });
        item_views.insert(*key, merged);
    }
    let content: HashMap<(i64, i64), (i64, i64)> = deltas.content.drain().collect();
    let keys: Vec<(i64, i64)> = content.keys().copied().collect();
    let items: Vec<i64> = keys.iter().map(|(_, item)| *item).collect();
    let groups: HashMap<i64, String> =
        sqlx::query_as("SELECT id, item_group FROM content_items WHERE id = ANY($1)")
            .bind(&items)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let created: Vec<(i64, i64, bool)> = sqlx::query_as(
        "INSERT INTO rollup_content_day (course_id, day, content_item_id, views, \
         unique_students) SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], \
         $5::bigint[]) \
         ON CONFLICT (course_id, day, content_item_id) DO UPDATE SET \
         views = rollup_content_day.views + excluded.views, \
         unique_students = rollup_content_day.unique_students + excluded.unique_students \
         RETURNING day, content_item_id, (xmax = 0)",
    )
    .bind(course)
    .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(&items)
    .bind(keys.iter().map(|k| content[k].0).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| content[k].1).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    for (day, item, created) in created {
        let views = content[&(day, item)].0;
        totals.item_day(
            day,
            item,
            views,
            created,
            groups.get(&item).map(String::as_str),
        );
    }

    // Sessions: merge the stored sessions near the new events with those events.
    if let Some((low, high)) = deltas.time_window() {
        let gap = bucketing.session_gap_ms;
        let stored: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT user_id, started_at, last_event_at FROM student_sessions \
             WHERE course_id = $1 AND last_event_at >= $2 AND started_at <= $3",
        )
        .bind(course)
        .bind(low - gap)
        .bind(high + gap)
        .fetch_all(&mut *tx)
        .await?;
        let edits = deltas.settle_sessions(stored, gap, &bucketing.clock);
        let (users, starts): (Vec<i64>, Vec<i64>) = edits.removed.iter().copied().unzip();
        sqlx::query(
            "DELETE FROM student_sessions s \
             USING UNNEST($2::bigint[], $3::bigint[]) AS k(user_id, started_at) \
             WHERE s.course_id = $1 AND s.user_id = k.user_id AND s.started_at = k.started_at",
        )
        .bind(course)
        .bind(&users)
        .bind(&starts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO student_sessions (course_id, user_id, started_at, last_event_at) \
             SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[])",
        )
        .bind(course)
        .bind(edits.added.iter().map(|s| s.0).collect::<Vec<_>>())
        .bind(edits.added.iter().map(|s| s.1).collect::<Vec<_>>())
        .bind(edits.added.iter().map(|s| s.2).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    let student: HashMap<(i64, i64), (i64, i64, i64)> =
        deltas.student_changes().into_iter().collect();
    let keys: Vec<(i64, i64)> = student.keys().copied().collect();
    let of =
        |f: fn(&(i64, i64, i64)) -> i64| keys.iter().map(|k| f(&student[k])).collect::<Vec<_>>();
    // Each row comes back as it now is: what it was is that less this change.
    let written: Vec<(i64, i64, i64, i64, i64, String)> = sqlx::query_as(
        "INSERT INTO rollup_student_day (course_id, day, user_id, views, sessions, \
         active_ms, item_views) SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], \
         $4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) \
         ON CONFLICT (course_id, day, user_id) DO UPDATE SET \
         views = rollup_student_day.views + excluded.views, \
         sessions = rollup_student_day.sessions + excluded.sessions, \
         active_ms = rollup_student_day.active_ms + excluded.active_ms, \
         item_views = CASE WHEN excluded.item_views = '' THEN rollup_student_day.item_views \
         ELSE excluded.item_views END \
         RETURNING day, user_id, views, sessions, active_ms, item_views",
    )
    .bind(course)
    .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1).collect::<Vec<_>>())
    .bind(of(|c| c.0))
    .bind(of(|c| c.1))
    .bind(of(|c| c.2))
    .bind(
        keys.iter()
            .map(|k| item_views.get(k).map_or("", String::as_str))
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *tx)
    .await?;
    // A row left with nothing (its one session moved to the day before) goes, as a
    // recount would never write it.
    let mut emptied: (Vec<i64>, Vec<i64>) = Default::default();
    for (day, user, views, sessions, active_ms, item_views) in written {
        let change = student[&(day, user)];
        totals.student_day(day, user, change, (views - change.0, sessions - change.1));
        if (views, sessions, active_ms) == (0, 0, 0) && item_views.is_empty() {
            emptied.0.push(day);
            emptied.1.push(user);
        }
    }
    if !emptied.0.is_empty() {
        sqlx::query(
            "DELETE FROM rollup_student_day d \
             USING UNNEST($2::bigint[], $3::bigint[]) AS k(day, user_id) \
             WHERE d.course_id = $1 AND d.day = k.day AND d.user_id = k.user_id",
        )
        .bind(course)
        .bind(&emptied.0)
        .bind(&emptied.1)
        .execute(&mut *tx)
        .await?;
    }

    // The course-wide rollups.
    let days: Vec<(i64, [i64; 8])> = totals.days.into_iter().collect();
    let mut query = sqlx::query(unnest_insert(ADD_COURSE_DAYS, &["bigint"; 9]))
        .bind(course)
        .bind(days.iter().map(|d| d.0).collect::<Vec<_>>());
    for column in 0..8 {
        query = query.bind(days.iter().map(|d| d.1[column]).collect::<Vec<_>>());
    }
    query.execute(&mut *tx).await?;
    let students: Vec<_> = totals.students.into_iter().collect();
    sqlx::query(unnest_insert(ADD_STUDENT_TOTALS, &["bigint"; 5]))
        .bind(course)
        .bind(students.iter().map(|s| s.0).collect::<Vec<_>>())
        .bind(students.iter().map(|s| s.1.views).collect::<Vec<_>>())
        .bind(students.iter().map(|s| s.1.sessions).collect::<Vec<_>>())
        .bind(students.iter().map(|s| s.1.active_ms).collect::<Vec<_>>())
        .bind(
            students
                .iter()
                .map(|s| s.1.last_view_day)
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    let items: Vec<(i64, (i64, i64))> = totals.items.into_iter().collect();
    sqlx::query(unnest_insert(ADD_ITEM_TOTALS, &["bigint"; 3]))
        .bind(course)
        .bind(items.iter().map(|i| i.0).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.1.0).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.1.1).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    let hours = student_hour_deltas(new.iter().copied());
    sqlx::query(unnest_insert(
        ADD_STUDENT_HOURS,
        &["bigint", "bigint", "text", "text"],
    ))
    .bind(course)
    .bind(hours.iter().map(|h| h.hour).collect::<Vec<_>>())
    .bind(hours.iter().map(|h| h.user).collect::<Vec<_>>())
    .bind(
        hours
            .iter()
            .map(|h| h.item_views.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        hours
            .iter()
            .map(|h| h.instants.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    // Each hour's views per user and item: read, merged and written back whole (the
    // advisory lock keeps other writers of the course out meanwhile).
    let deltas = course_hour_deltas(new.iter().copied());
    let hours: Vec<i64> = deltas.iter().map(|d| d.hour).collect();
    let stored: HashMap<i64, (String, String)> = sqlx::query_as::<_, (i64, String, String)>(
        "SELECT hour, user_views, item_views FROM rollup_course_hour \
         WHERE course_id = $1 AND hour = ANY($2)",
    )
    .bind(course)
    .bind(&hours)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(hour, users, items)| (hour, (users, items)))
    .collect();
    let merged: Vec<(String, String)> = deltas
        .iter()
        .map(|d| d.merged(stored.get(&d.hour).map(|(u, i)| (u.as_str(), i.as_str()))))
        .collect();
    sqlx::query(unnest_insert(PUT_COURSE_HOURS, &["bigint", "text", "text"]))
        .bind(course)
        .bind(&hours)
        .bind(merged.iter().map(|m| m.0.as_str()).collect::<Vec<_>>())
        .bind(merged.iter().map(|m| m.1.as_str()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// PostgreSQL's bulk path: `COPY` into a per-connection staging table, then one
/// `INSERT … SELECT … ON CONFLICT DO NOTHING`.
async fn copy_activity(
    tx: &mut sqlx::PgConnection,
    course: CourseId,
    rows: &[&NewActivity],
) -> StoreResult<Vec<EventKey>> {
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS activity_staging (user_id BIGINT, content_item_id BIGINT, \
         kind TEXT, occurred_at BIGINT, source TEXT, idempotency_key TEXT, session_ref TEXT) \
         ON COMMIT DELETE ROWS",
    )
    .execute(&mut *tx)
    .await?;
    let mut data = String::with_capacity(rows.len() * 64);
    for e in rows {
        push_copy_field(&mut data, e.user.map(|u| u.0.to_string()).as_deref());
        data.push('\t');
        push_copy_field(
            &mut data,
            e.content_item.map(|c| c.0.to_string()).as_deref(),
        );
        data.push('\t');
        push_copy_field(&mut data, Some(e.kind.as_str()));
        data.push('\t');
        push_copy_field(&mut data, Some(&e.occurred_at.0.to_string()));
        data.push('\t');
        push_copy_field(&mut data, Some(e.source.as_str()));
        data.push('\t');
        push_copy_field(&mut data, Some(&e.idempotency_key));
        data.push('\t');
        push_copy_field(&mut data, e.session_ref.as_deref());
        data.push('\n');
    }
    let mut copy = tx
        .copy_in_raw("COPY activity_staging FROM STDIN (FORMAT text)")
        .await?;
    copy.send(data.into_bytes()).await?;
    copy.finish().await?;
    let inserted = sqlx::query_as(
        "INSERT INTO activity (course_id, user_id, content_item_id, kind, occurred_at, source, \
         idempotency_key, session_ref) SELECT $1, user_id, content_item_id, kind, occurred_at, \
         source, idempotency_key, session_ref FROM activity_staging \
         ON CONFLICT (course_id, occurred_at, idempotency_key) DO NOTHING \
         RETURNING occurred_at, idempotency_key",
    )
    .bind(course)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM activity_staging")
        .execute(&mut *tx)
        .await?;
    Ok(inserted)
}

/// One field of PostgreSQL's text `COPY` format: `\N` for null, backslash escapes.
fn push_copy_field(out: &mut String, value: Option<&str>) {
    let Some(value) = value else {
        out.push_str("\\N");
        return;
    };
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}
