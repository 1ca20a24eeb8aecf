//! Migrations: the embedded SQL of both engines, then the one-off data changes that need
//! more than SQL (packing SQLite's old event rows, counting new rollups from old events).

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use sqlx::migrate::Migrator;

use super::{BeginWrite, ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId, on_pool};
use crate::activity::hours::{course_hour_deltas, student_hour_deltas};
use crate::activity::item_views::{item_views_text, viewed_items};
use crate::activity::pack::{merge, minute_of, pack};
use crate::activity::student_list::student_list_text;
use crate::activity::{ActivityCursor, ActivityKind, ActivitySource, CourseClock, NewActivity};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Applies every embedded migration not yet applied, then the data changes that need
    /// more than SQL (rollups counted in each course's time zone).
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Self::Sqlite(db) => SQLITE_MIGRATIONS.run(&db.pool).await?,
            Self::Postgres(db) => POSTGRES_MIGRATIONS.run(&db.pool).await?,
        }
        self.pack_unpacked_activity().await?;
        self.backfill_student_item_views().await?;
        self.backfill_student_hours().await?;
        self.backfill_student_lists().await
    }

    /// Packs the rows the activity table held before migration 0015 (SQLite) or 0027
    /// (PostgreSQL) into `activity_packs`, then drops that table, in one transaction;
    /// nothing to do once done.
    async fn pack_unpacked_activity(&self) -> StoreResult<()> {
        const PAGE: i64 = 50_000;
        let waiting = match self {
            Store::Sqlite(_) => {
                "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                 WHERE type = 'table' AND name = 'activity_unpacked')"
            }
            Store::Postgres(_) => "SELECT to_regclass('activity_unpacked') IS NOT NULL",
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let waiting: bool = sqlx::query_scalar(waiting).fetch_one(&mut *tx).await?;
            if !waiting {
                return Ok(());
            }
            let mut after = (i64::MIN, i64::MIN, String::new());
            loop {
                let rows: Vec<UnpackedRow> = sqlx::query_as(
                    "SELECT course_id, user_id, content_item_id, kind, occurred_at, source, \
                     idempotency_key, session_ref FROM activity_unpacked \
                     WHERE (course_id, occurred_at, idempotency_key) > ($1, $2, $3) \
                     ORDER BY course_id, occurred_at, idempotency_key LIMIT $4",
                )
                .bind(after.0)
                .bind(after.1)
                .bind(&after.2)
                .bind(PAGE)
                .fetch_all(&mut *tx)
                .await?;
                let Some(last) = rows.last() else {
                    break;
                };
                after = (
                    last.course_id,
                    last.occurred_at,
                    last.idempotency_key.clone(),
                );
                let mut events: Vec<(i64, NewActivity)> = rows
                    .into_iter()
                    .filter_map(UnpackedRow::into_event)
                    .collect();
                // Packs are sorted by key bytes; PostgreSQL ordered the keys by its collation.
                events.sort_unstable_by(|a, b| (a.0, a.1.key()).cmp(&(b.0, b.1.key())));
                for same_pack in events.chunk_by(|a, b| {
                    (a.0, minute_of(a.1.occurred_at.0)) == (b.0, minute_of(b.1.occurred_at.0))
                }) {
                    let course = same_pack[0].0;
                    let minute = minute_of(same_pack[0].1.occurred_at.0);
                    let incoming: Vec<&NewActivity> = same_pack.iter().map(|(_, e)| e).collect();
                    // A minute split across two pages is packed by the first and grown by the
                    // second.
                    let stored: Option<Vec<u8>> = sqlx::query_scalar(
                        "SELECT events FROM activity_packs WHERE course_id = $1 AND minute = $2",
                    )
                    .bind(course)
                    .bind(minute)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let bytes = match stored {
                        None => pack(&incoming),
                        Some(stored) => match merge(minute, &stored, &incoming)?.1 {
                            Some(grown) => grown,
                            None => continue,
                        },
                    };
                    sqlx::query(
                        "INSERT INTO activity_packs (course_id, minute, events) VALUES ($1, $2, $3) \
                         ON CONFLICT (course_id, minute) DO UPDATE SET events = excluded.events",
                    )
                    .bind(course)
                    .bind(minute)
                    .bind(bytes)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            sqlx::query("DROP TABLE activity_unpacked")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Counts each student's views of each item per day for the courses migration 0011
    /// listed (their rows predate the count) into the student-days' `item_views`, one
    /// course per transaction, reading the course's events a page at a time.
    async fn backfill_student_item_views(&self) -> StoreResult<()> {
        let courses = self.pending_courses("pending_view_backfill").await?;
        for course in courses {
            let clock = CourseClock::or_utc(&self.course(course).await?.time_zone);
            // (day, user, item) → views: one entry per student-item-day, not per event.
            let mut views: HashMap<(i64, i64, i64), i64> = HashMap::new();
            let mut cursor = ActivityCursor::default();
            loop {
                let page = self.activity_page(course, &mut cursor).await?;
                if page.is_empty() {
                    break;
                }
                for e in page.iter().filter(|e| e.kind == ActivityKind::View) {
                    if let Some(user) = e.user_id {
                        let day = clock.day_of(e.occurred_at).0;
                        let item = e.content_item_id.map_or(0, |c| c.0);
                        *views.entry((day, user.0, item)).or_default() += 1;
                    }
                }
            }
            on_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                sqlx::query("UPDATE rollup_student_day SET item_views = '' WHERE course_id = $1")
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                let mut counted: Vec<((i64, i64, i64), i64)> = views.drain().collect();
                counted.sort_unstable();
                for student_day in counted.chunk_by(|a, b| (a.0.0, a.0.1) == (b.0.0, b.0.1)) {
                    let (day, user, _) = student_day[0].0;
                    let items: Vec<(i64, i64)> =
                        student_day.iter().map(|((_, _, item), n)| (*item, *n)).collect();
                    sqlx::query(
                        "UPDATE rollup_student_day SET item_views = $4 \
                         WHERE course_id = $1 AND day = $2 AND user_id = $3",
                    )
                    .bind(course)
                    .bind(day)
                    .bind(user)
                    .bind(item_views_text(&items))
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM pending_view_backfill WHERE course_id = $1")
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            })?;
        }
        Ok(())
    }

    /// Counts the student-hour and course-hour rows of the courses migration 0022 listed
    /// (their events predate the rollups), one course per transaction, reading its events a
    /// page at a time.
    async fn backfill_student_hours(&self) -> StoreResult<()> {
        let courses = self.pending_courses("pending_hour_backfill").await?;
        for course in courses {
            let mut views = Vec::new();
            let mut cursor = ActivityCursor::default();
            loop {
                let page = self.activity_page(course, &mut cursor).await?;
                if page.is_empty() {
                    break;
                }
                views.extend(
                    page.into_iter()
                        .filter(|e| e.kind == ActivityKind::View)
                        .map(|e| NewActivity {
                            user: e.user_id,
                            content_item: e.content_item_id,
                            kind: ActivityKind::View,
                            occurred_at: e.occurred_at,
                            source: ActivitySource::Caliper,
                            idempotency_key: e.idempotency_key,
                            session_ref: None,
                        }),
                );
            }
            let rows = student_hour_deltas(&views);
            let course_hours = course_hour_deltas(&views);
            on_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                for table in ["rollup_student_hour", "rollup_course_hour"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE course_id = $1"
                    )))
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                }
                for delta in &course_hours {
                    let (users, items) = delta.merged(None);
                    sqlx::query(
                        "INSERT INTO rollup_course_hour (course_id, hour, user_views, item_views) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(course)
                    .bind(delta.hour)
                    .bind(users)
                    .bind(items)
                    .execute(&mut *tx)
                    .await?;
                }
                for row in &rows {
                    sqlx::query(
                        "INSERT INTO rollup_student_hour (course_id, hour, user_id, item_views, \
                         instants) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(course)
                    .bind(row.hour)
                    .bind(row.user)
                    .bind(&row.item_views)
                    .bind(&row.instants)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM pending_hour_backfill WHERE course_id = $1")
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            })?;
        }
        Ok(())
    }

    /// Fills the item-days' students and the students' views per day of the courses
    /// migration 0031 listed, from their student-days: the students' rows are derived
    /// afresh with the other course-wide rollups, then each item-day's list is written, and
    /// the course leaves the list in the same transaction.
    async fn backfill_student_lists(&self) -> StoreResult<()> {
        let courses = self.pending_courses("pending_student_lists").await?;
        for course in courses {
            self.rebuild_course_rollups(course).await?;
            let days: Vec<(i64, i64, String)> = self
                .read_rows(
                    "SELECT day, user_id, item_views FROM rollup_student_day \
                     WHERE course_id = $1 AND item_views <> ''",
                    &[course.0],
                )
                .await?;
            let mut students: BTreeMap<(i64, i64), Vec<i64>> = BTreeMap::new();
            for (day, user, text) in &days {
                for item in viewed_items(text) {
                    students.entry((*day, item)).or_default().push(*user);
                }
            }
            on_pool!(self, pool => {
                let mut tx = pool.begin_write().await?;
                for ((day, item), mut users) in students {
                    sqlx::query(
                        "UPDATE rollup_content_day SET students = $4 \
                         WHERE course_id = $1 AND day = $2 AND content_item_id = $3",
                    )
                    .bind(course)
                    .bind(day)
                    .bind(item)
                    .bind(student_list_text(&mut users))
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM pending_student_lists WHERE course_id = $1")
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            })?;
        }
        Ok(())
    }

    /// The courses a migration listed in `list` for a data change still to make.
    async fn pending_courses(&self, list: &'static str) -> StoreResult<Vec<CourseId>> {
        let courses: Vec<(CourseId,)> = self
            .read_built_rows(&format!("SELECT course_id FROM {list}"), &[])
            .await?;
        Ok(courses.into_iter().map(|(course,)| course).collect())
    }
}

/// A row of the activity table from before packing (0015 on SQLite, 0027 on PostgreSQL).
#[derive(sqlx::FromRow)]
struct UnpackedRow {
    course_id: i64,
    user_id: Option<i64>,
    content_item_id: Option<i64>,
    kind: String,
    occurred_at: i64,
    source: String,
    idempotency_key: String,
    session_ref: Option<String>,
}

impl UnpackedRow {
    /// The row as an event of its course; rows of kinds or sources cloop never wrote are
    /// skipped.
    fn into_event(self) -> Option<(i64, NewActivity)> {
        Some((
            self.course_id,
            NewActivity {
                user: self.user_id.map(UserId),
                content_item: self.content_item_id.map(ContentItemId),
                kind: ActivityKind::parse(&self.kind)?,
                occurred_at: EpochMs(self.occurred_at),
                source: ActivitySource::parse(&self.source)?,
                idempotency_key: self.idempotency_key,
                session_ref: self.session_ref,
            },
        ))
    }
}
