//! Activity events and the rollups that summarise them, written in one transaction: new
//! rows are inserted once per idempotency key, then the day rollups and the students'
//! sessions are brought up to date for exactly the rows that were new.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde::Serialize;

use sqlx::PgConnection;

use super::activity_pack::{last_instant, merge, minute_of, pack, unpack};
use super::course_hours::{PUT_COURSE_HOURS, course_hour_deltas};
use super::hours::{ADD_STUDENT_HOURS, student_hour_deltas};
use super::rollups::{
    ADD_COURSE_DAYS, ADD_ITEM_TOTALS, ADD_STUDENT_TOTALS, CourseTotals, RollupDeltas,
    add_item_views,
};
use super::{ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId};

/// What happened, in the vocabulary every source is mapped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum ActivityKind {
    /// A content item or course page was opened.
    View = 0,
    /// A forum post or reply.
    Post = 1,
    /// An assessment was started or attempted.
    Attempt = 2,
    /// Work was submitted.
    Submission = 3,
    Grade = 4,
    Login = 5,
    Logout = 6,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Post => "post",
            Self::Attempt => "attempt",
            Self::Submission => "submission",
            Self::Grade => "grade",
            Self::Login => "login",
            Self::Logout => "logout",
        }
    }

    /// The kind's code in SQLite's activity packs (stored: never renumber).
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    pub(crate) const ALL: [Self; 7] = [
        Self::View,
        Self::Post,
        Self::Attempt,
        Self::Submission,
        Self::Grade,
        Self::Login,
        Self::Logout,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where an activity row came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum ActivitySource {
    Caliper = 0,
    Xapi = 1,
    BbAccumulator = 2,
    Loop = 3,
    MoodleLog = 4,
    Gradebook = 5,
}

impl ActivitySource {
    pub(crate) const ALL: [Self; 6] = [
        Self::Caliper,
        Self::Xapi,
        Self::BbAccumulator,
        Self::Loop,
        Self::MoodleLog,
        Self::Gradebook,
    ];

    /// The source's code in SQLite's activity packs (stored: never renumber).
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caliper => "caliper",
            Self::Xapi => "xapi",
            Self::BbAccumulator => "bb-accumulator",
            Self::Loop => "loop",
            Self::MoodleLog => "moodle-log",
            Self::Gradebook => "gradebook",
        }
    }
}

/// One event to record for a course, already resolved to cloop's ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewActivity {
    pub user: Option<UserId>,
    pub content_item: Option<ContentItemId>,
    pub kind: ActivityKind,
    pub occurred_at: EpochMs,
    pub source: ActivitySource,
    /// The source's own event id, or a hash of the fields that identify the event.
    pub idempotency_key: String,
    pub session_ref: Option<String>,
}

impl NewActivity {
    /// The event's identity within its course: its instant and idempotency key.
    pub fn key(&self) -> (i64, &str) {
        (self.occurred_at.0, &self.idempotency_key)
    }
}

/// How a course's events are bucketed: its local day, and the gap that ends a session.
pub struct Bucketing<'a> {
    /// Days since 1970-01-01 of the instant's local date in the course's time zone.
    pub day_of: &'a (dyn Fn(EpochMs) -> i64 + Sync),
    pub session_gap_ms: i64,
}

/// Advisory lock keys of rollup writers: "CLOP" in the high half, the course id below.
const ROLLUP_LOCK_SPACE: i64 = 0x434C_4F50 << 32;

/// Rows per multi-row rollup statement.
const CHUNK: usize = 500;

/// Rows per multi-row activity insert.
const ACTIVITY_CHUNK: usize = 4_000;

/// Batches at least this large go through `COPY` on PostgreSQL.
const BULK_THRESHOLD: usize = 2_000;

/// `prefix (…),(…) suffix` with `$n` placeholders for `rows` rows of `cols` columns.
fn values_sql(prefix: &str, cols: usize, rows: usize, suffix: &str) -> sqlx::AssertSqlSafe<String> {
    let mut sql = String::with_capacity(prefix.len() + suffix.len() + rows * cols * 6);
    sql.push_str(prefix);
    let mut n = 1;
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for col in 0..cols {
            if col > 0 {
                sql.push(',');
            }
            sql.push('$');
            sql.push_str(&n.to_string());
            n += 1;
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(suffix);
    sqlx::AssertSqlSafe(sql)
}

/// An event's identity within its course: its instant and idempotency key.
type EventKey = (i64, String);

/// Inserts `rows` (no key twice) with multi-row statements; returns the keys that were new.
async fn insert_activity_values(
    tx: &mut PgConnection,
    course: CourseId,
    rows: &[&NewActivity],
) -> StoreResult<Vec<EventKey>> {
    let mut inserted = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ACTIVITY_CHUNK) {
        let sql = values_sql(
            "INSERT INTO activity (course_id, user_id, content_item_id, kind, occurred_at, \
             source, idempotency_key, session_ref) VALUES ",
            8,
            chunk.len(),
            "ON CONFLICT (course_id, occurred_at, idempotency_key) DO NOTHING \
             RETURNING occurred_at, idempotency_key",
        );
        let mut query = sqlx::query_as::<_, EventKey>(sql);
        for e in chunk {
            query = query
                .bind(course)
                .bind(e.user)
                .bind(e.content_item)
                .bind(e.kind.as_str())
                .bind(e.occurred_at)
                .bind(e.source.as_str())
                .bind(e.idempotency_key.as_str())
                .bind(e.session_ref.as_deref());
        }
        inserted.extend(query.fetch_all(&mut *tx).await?);
    }
    Ok(inserted)
}

/// Applies the rollup changes of the new rows inside the open transaction (PostgreSQL;
/// SQLite's writer does the same through its own API).
async fn apply_rollups(
    tx: &mut PgConnection,
    course: CourseId,
    new: &[&NewActivity],
    bucketing: &Bucketing<'_>,
) -> StoreResult<()> {
    let mut deltas = RollupDeltas::from_new_events(new, bucketing.day_of);
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
    let merged: Vec<(i64, String)> = student_items
        .iter()
        .map(|(user, added)| {
            let stored = stored.get(user).map_or("", String::as_str);
            let text = add_item_views(stored, added, |item| totals.new_item_student(item));
            (*user, text)
        })
        .collect();
    for chunk in merged.chunks(CHUNK) {
        let sql = values_sql(
            "INSERT INTO rollup_student_items (course_id, user_id, item_views) VALUES ",
            3,
            chunk.len(),
            "ON CONFLICT (course_id, user_id) DO UPDATE SET item_views = excluded.item_views",
        );
        let mut query = sqlx::query(sql);
        for (user, text) in chunk {
            query = query.bind(course).bind(*user).bind(text.as_str());
        }
        query.execute(&mut *tx).await?;
    }
    // Each student-day's views per item: the stored ones with these events' added, written
    // back whole with the student-day below (the advisory lock keeps other writers of the
    // course out meanwhile). An item a row did not hold is that student's first view of it
    // that day.
    let viewed: Vec<(i64, i64)> = day_item_views.keys().copied().collect();
    let mut item_views: HashMap<(i64, i64), String> = HashMap::new();
    for chunk in viewed.chunks(CHUNK) {
        let sql = values_sql(
            "SELECT day, user_id, item_views FROM rollup_student_day \
             WHERE (course_id, day, user_id) IN (VALUES ",
            3,
            chunk.len(),
            ")",
        );
        let mut query = sqlx::query_as::<_, (i64, i64, String)>(sql);
        for (day, user) in chunk {
            query = query.bind(course).bind(*day).bind(*user);
        }
        for (day, user, stored) in query.fetch_all(&mut *tx).await? {
            item_views.insert((day, user), stored);
        }
    }
    for (key, added) in &day_item_views {
        let stored = item_views.get(key).map_or("", String::as_str);
        let merged = add_item_views(stored, added, |item| {
            deltas.content.entry((key.0, item)).or_default().1 += 1;
        });
        item_views.insert(*key, merged);
    }
    let batch_items: Vec<i64> = deltas.content.keys().map(|(_, item)| *item).collect();
    let groups: HashMap<i64, String> =
        sqlx::query_as("SELECT id, item_group FROM content_items WHERE id = ANY($1)")
            .bind(&batch_items)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let content: HashMap<(i64, i64), (i64, i64)> = deltas.content.drain().collect();
    let keys: Vec<(i64, i64)> = content.keys().copied().collect();
    for chunk in keys.chunks(CHUNK) {
        let sql = values_sql(
            "INSERT INTO rollup_content_day (course_id, day, content_item_id, views, \
             unique_students) VALUES ",
            5,
            chunk.len(),
            "ON CONFLICT (course_id, day, content_item_id) DO UPDATE SET \
             views = rollup_content_day.views + excluded.views, \
             unique_students = rollup_content_day.unique_students + excluded.unique_students \
             RETURNING day, content_item_id, (xmax = 0)",
        );
        let mut query = sqlx::query_as::<_, (i64, i64, bool)>(sql);
        for key in chunk {
            let (views, uniques) = content[key];
            query = query
                .bind(course)
                .bind(key.0)
                .bind(key.1)
                .bind(views)
                .bind(uniques);
        }
        for (day, item, created) in query.fetch_all(&mut *tx).await? {
            let views = content[&(day, item)].0;
            totals.item_day(
                day,
                item,
                views,
                created,
                groups.get(&item).map(String::as_str),
            );
        }
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
        let edits = deltas.settle_sessions(stored, gap, bucketing.day_of);
        for chunk in edits.removed.chunks(CHUNK) {
            let sql = values_sql(
                "DELETE FROM student_sessions WHERE (course_id, user_id, started_at) IN (VALUES ",
                3,
                chunk.len(),
                ")",
            );
            let mut query = sqlx::query(sql);
            for (user, start) in chunk {
                query = query.bind(course).bind(*user).bind(*start);
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in edits.added.chunks(CHUNK) {
            let sql = values_sql(
                "INSERT INTO student_sessions (course_id, user_id, started_at, last_event_at) \
                 VALUES ",
                4,
                chunk.len(),
                "",
            );
            let mut query = sqlx::query(sql);
            for (user, start, last) in chunk {
                query = query.bind(course).bind(*user).bind(*start).bind(*last);
            }
            query.execute(&mut *tx).await?;
        }
    }
    let student: HashMap<(i64, i64), (i64, i64, i64)> =
        deltas.student_changes().into_iter().collect();
    let keys: Vec<(i64, i64)> = student.keys().copied().collect();
    for chunk in keys.chunks(CHUNK) {
        let sql = values_sql(
            "INSERT INTO rollup_student_day (course_id, day, user_id, views, sessions, \
             active_ms, item_views) VALUES ",
            7,
            chunk.len(),
            "ON CONFLICT (course_id, day, user_id) DO UPDATE SET \
             views = rollup_student_day.views + excluded.views, \
             sessions = rollup_student_day.sessions + excluded.sessions, \
             active_ms = rollup_student_day.active_ms + excluded.active_ms, \
             item_views = CASE WHEN excluded.item_views = '' THEN rollup_student_day.item_views \
             ELSE excluded.item_views END \
             RETURNING day, user_id, (xmax = 0)",
        );
        let mut query = sqlx::query_as::<_, (i64, i64, bool)>(sql);
        for key in chunk {
            let (views, sessions, active) = student[key];
            query = query
                .bind(course)
                .bind(key.0)
                .bind(key.1)
                .bind(views)
                .bind(sessions)
                .bind(active)
                .bind(item_views.get(key).map_or("", String::as_str));
        }
        for (day, user, created) in query.fetch_all(&mut *tx).await? {
            totals.student_day(day, user, student[&(day, user)], created);
        }
    }

    // The course-wide rollups.
    let days: Vec<(i64, [i64; 8])> = totals.days.into_iter().collect();
    let (prefix, columns, conflict) = ADD_COURSE_DAYS;
    for chunk in days.chunks(CHUNK) {
        let mut query = sqlx::query(values_sql(prefix, columns, chunk.len(), conflict));
        for (day, c) in chunk {
            query = query.bind(course).bind(*day);
            for value in c {
                query = query.bind(*value);
            }
        }
        query.execute(&mut *tx).await?;
    }
    let students: Vec<_> = totals.students.into_iter().collect();
    let (prefix, columns, conflict) = ADD_STUDENT_TOTALS;
    for chunk in students.chunks(CHUNK) {
        let mut query = sqlx::query(values_sql(prefix, columns, chunk.len(), conflict));
        for (user, t) in chunk {
            query = query
                .bind(course)
                .bind(*user)
                .bind(t.views)
                .bind(t.sessions)
                .bind(t.active_ms)
                .bind(t.last_view_day);
        }
        query.execute(&mut *tx).await?;
    }
    let items: Vec<(i64, (i64, i64))> = totals.items.into_iter().collect();
    let (prefix, columns, conflict) = ADD_ITEM_TOTALS;
    for chunk in items.chunks(CHUNK) {
        let mut query = sqlx::query(values_sql(prefix, columns, chunk.len(), conflict));
        for (item, (views, uniques)) in chunk {
            query = query.bind(course).bind(*item).bind(*views).bind(*uniques);
        }
        query.execute(&mut *tx).await?;
    }
    let hours = student_hour_deltas(new.iter().copied());
    let (prefix, columns, conflict) = ADD_STUDENT_HOURS;
    for chunk in hours.chunks(CHUNK) {
        let mut query = sqlx::query(values_sql(prefix, columns, chunk.len(), conflict));
        for row in chunk {
            query = query
                .bind(course)
                .bind(row.hour)
                .bind(row.user)
                .bind(row.item_views.as_str())
                .bind(row.instants.as_str());
        }
        query.execute(&mut *tx).await?;
    }
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
    let merged: Vec<(i64, (String, String))> = deltas
        .iter()
        .map(|d| {
            let row = stored.get(&d.hour).map(|(u, i)| (u.as_str(), i.as_str()));
            (d.hour, d.merged(row))
        })
        .collect();
    let (prefix, columns, conflict) = PUT_COURSE_HOURS;
    for chunk in merged.chunks(CHUNK) {
        let mut query = sqlx::query(values_sql(prefix, columns, chunk.len(), conflict));
        for (hour, (users, items)) in chunk {
            query = query
                .bind(course)
                .bind(*hour)
                .bind(users.as_str())
                .bind(items.as_str());
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

impl Store {
    /// Stores the events of one course that are not stored yet and folds exactly those into
    /// the rollups, all in one transaction. Returns, per input event, whether it was new (an
    /// event whose instant and key are already stored, or repeated earlier in `events`, is
    /// not).
    #[tracing::instrument(skip_all, fields(course = %course, events = events.len()))]
    pub async fn record_activity(
        &self,
        course: CourseId,
        events: &[NewActivity],
        bucketing: &Bucketing<'_>,
    ) -> StoreResult<Vec<bool>> {
        self.record_events(course, events, Some(bucketing)).await
    }

    /// Stores the events of one course that are not stored yet, leaving the rollups and
    /// sessions as they are (for events the LMS's records stand for, such as gradebook
    /// attempts). Returns, per input event, whether it was new.
    pub async fn record_activity_without_rollups(
        &self,
        course: CourseId,
        events: &[NewActivity],
    ) -> StoreResult<Vec<bool>> {
        self.record_events(course, events, None).await
    }

    async fn record_events(
        &self,
        course: CourseId,
        events: &[NewActivity],
        bucketing: Option<&Bucketing<'_>>,
    ) -> StoreResult<Vec<bool>> {
        let mut seen = HashSet::with_capacity(events.len());
        let unique: Vec<&NewActivity> = events.iter().filter(|e| seen.insert(e.key())).collect();
        if unique.is_empty() {
            return Ok(vec![false; events.len()]);
        }
        let fresh: Vec<bool> = match (self, bucketing) {
            (Store::Sqlite(db), Some(bucketing)) => {
                super::activity_sqlite::record(&db.activity_writer, course, &unique, bucketing)
                    .await?
            }
            (Store::Sqlite(db), None) => {
                super::activity_sqlite::record_without_rollups(&db.activity_writer, course, &unique)
                    .await?
            }
            (Store::Postgres(pool), bucketing) => {
                let mut tx = pool.begin().await?;
                if bucketing.is_some() {
                    // One writer per course at a time: session merging reads, then writes.
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(ROLLUP_LOCK_SPACE ^ course.0)
                        .execute(&mut *tx)
                        .await?;
                }
                let inserted: Vec<EventKey> = if unique.len() >= BULK_THRESHOLD {
                    copy_activity(&mut tx, course, &unique).await?
                } else {
                    insert_activity_values(&mut tx, course, &unique).await?
                };
                let inserted: HashSet<(i64, &str)> = inserted
                    .iter()
                    .map(|(at, key)| (*at, key.as_str()))
                    .collect();
                let is_new = |e: &NewActivity| inserted.contains(&e.key());
                if let Some(bucketing) = bucketing {
                    let new: Vec<&NewActivity> =
                        unique.iter().copied().filter(|e| is_new(e)).collect();
                    apply_rollups(&mut tx, course, &new, bucketing).await?;
                }
                tx.commit().await?;
                unique.iter().map(|e| is_new(e)).collect()
            }
        };
        if unique.len() == events.len() {
            // No key repeated within the batch: `unique` is `events`, in order.
            return Ok(fresh);
        }
        let inserted: HashSet<(i64, &str)> = unique
            .iter()
            .zip(fresh)
            .filter(|(_, new)| *new)
            .map(|(e, _)| e.key())
            .collect();
        let mut claimed = HashSet::with_capacity(inserted.len());
        Ok(events
            .iter()
            .map(|e| inserted.contains(&e.key()) && claimed.insert(e.key()))
            .collect())
    }

    /// The course's stored events after `cursor`, in time order, a page at a time: an
    /// empty page means there are no more. The cursor moves to the page's last event.
    pub async fn activity_page(
        &self,
        course: CourseId,
        cursor: &mut ActivityCursor,
    ) -> StoreResult<Vec<StoredActivity>> {
        let (after_at, after_key) = cursor.0.clone().unwrap_or((i64::MIN, String::new()));
        let page: Vec<StoredActivity> =
            match self {
                Store::Sqlite(db) => {
                    let first_minute = cursor.0.as_ref().map_or(i64::MIN, |(at, _)| minute_of(*at));
                    let packs: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                        "SELECT minute, events FROM activity_packs WHERE course_id = $1 \
                     AND minute >= $2 ORDER BY minute LIMIT $3",
                    )
                    .bind(course)
                    .bind(first_minute)
                    .bind(PACKS_PER_PAGE)
                    .fetch_all(&db.pool)
                    .await?;
                    let mut page = Vec::new();
                    for (minute, bytes) in &packs {
                        page.extend(
                            unpack(*minute, bytes)?
                                .into_iter()
                                .filter(|e| cursor.0.is_none() || e.key() > (after_at, &after_key)),
                        );
                    }
                    page
                }
                Store::Postgres(pool) => sqlx::query_as(
                    "SELECT user_id, content_item_id, kind, occurred_at, source, idempotency_key \
                     FROM activity WHERE course_id = $1 \
                     AND (occurred_at, idempotency_key) > ($2, $3) \
                     ORDER BY occurred_at, idempotency_key LIMIT $4",
                )
                .bind(course)
                .bind(after_at)
                .bind(&after_key)
                .bind(ROWS_PER_PAGE)
                .fetch_all(pool)
                .await?,
            };
        if let Some(last) = page.last() {
            cursor.0 = Some((last.occurred_at.0, last.idempotency_key.clone()));
        }
        Ok(page)
    }

    /// The stored events of a course in time order (for recounts, exports and tests).
    pub async fn activity_of_course(&self, course: CourseId) -> StoreResult<Vec<StoredActivity>> {
        let mut cursor = ActivityCursor::default();
        let mut all = Vec::new();
        loop {
            let page = self.activity_page(course, &mut cursor).await?;
            if page.is_empty() {
                return Ok(all);
            }
            all.extend(page);
        }
    }

    /// The instant of the course's latest stored event up to a day from now: later ones
    /// can only have been stored before event times were checked, and are not believable.
    pub async fn latest_activity(&self, course: CourseId) -> StoreResult<Option<EpochMs>> {
        let not_after = EpochMs::now().plus_secs(86_400);
        Ok(match self {
            Store::Sqlite(db) => {
                let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT minute, events FROM activity_packs WHERE course_id = $1 \
                     AND minute <= $2 ORDER BY minute DESC LIMIT 1",
                )
                .bind(course)
                .bind(minute_of(not_after.0))
                .fetch_optional(&db.pool)
                .await?;
                match last {
                    Some((minute, bytes)) => last_instant(minute, &bytes)?,
                    None => None,
                }
            }
            Store::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT MAX(occurred_at) FROM activity WHERE course_id = $1 \
                     AND occurred_at <= $2",
                )
                .bind(course)
                .bind(not_after)
                .fetch_one(pool)
                .await?
            }
        })
    }

    /// Packs the rows SQLite's activity table held before migration 0015 into
    /// `activity_packs`, then drops that table, in one transaction; nothing to do once done
    /// (and on PostgreSQL, which keeps a row per event).
    pub(super) async fn pack_unpacked_activity(&self) -> StoreResult<()> {
        const PAGE: i64 = 50_000;
        let Store::Sqlite(db) = self else {
            return Ok(());
        };
        let mut tx = db.pool.begin().await?;
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master \
             WHERE type = 'table' AND name = 'activity_unpacked')",
        )
        .fetch_one(&mut *tx)
        .await?;
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
            let events: Vec<(i64, NewActivity)> = rows
                .into_iter()
                .filter_map(UnpackedRow::into_event)
                .collect();
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
    }
}

/// Packs read per page of a course's events on SQLite (about 60 events each when busy).
const PACKS_PER_PAGE: i64 = 1_000;

/// Events read per page of a course's events on PostgreSQL.
const ROWS_PER_PAGE: i64 = 50_000;

/// Where a walk through a course's events has got to: the instant and key of the last
/// event read (none yet at the start).
#[derive(Clone, Debug, Default)]
pub struct ActivityCursor(Option<(i64, String)>);

/// A row of SQLite's activity table from before migration 0015.
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

/// An activity row as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredActivity {
    pub user_id: Option<UserId>,
    pub content_item_id: Option<ContentItemId>,
    pub kind: String,
    pub occurred_at: EpochMs,
    pub source: String,
    pub idempotency_key: String,
}

impl StoredActivity {
    /// The event's identity within its course: its instant and idempotency key.
    pub fn key(&self) -> (i64, &str) {
        (self.occurred_at.0, &self.idempotency_key)
    }
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
