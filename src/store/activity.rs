//! Activity events: the domain types, and the store's one interface to them (record
//! batches through the group-commit queue, page through a course's events, latest event);
//! each engine's writer is in its own file (`activity_sqlite`, `activity_postgres`).

use serde::Serialize;

use super::activity_pack::{last_instant, merge, minute_of, pack, unpack};
use super::activity_queue::{ActivityQueue, CourseBatch, QueueRoom};
use super::clock::CourseClock;
use super::{ContentItemId, CourseId, EpochMs, PostgresDb, Store, StoreResult, UserId};

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
#[derive(Clone, Debug)]
pub struct Bucketing {
    /// The course's time zone.
    pub clock: CourseClock,
    pub session_gap_ms: i64,
}

impl Bucketing {
    /// Days since 1970-01-01 of the instant's local date in the course's time zone.
    pub fn day_of(&self, at: EpochMs) -> i64 {
        self.clock.day_of(at)
    }
}

impl Store {
    /// Stores the events of one course that are not stored yet and folds exactly those into
    /// the rollups, in one transaction (shared with other batches recorded meanwhile),
    /// waiting for room in the queue. Returns, per input event, whether it was new (an
    /// event whose instant and key are already stored, or repeated earlier in `events`, is
    /// not).
    #[tracing::instrument(skip_all, fields(course = %course, events = events.len()))]
    pub async fn record_activity(
        &self,
        course: CourseId,
        events: Vec<NewActivity>,
        bucketing: Bucketing,
    ) -> StoreResult<Vec<bool>> {
        self.record_one(course, events, Some(bucketing)).await
    }

    /// Stores the events of one course that are not stored yet, leaving the rollups and
    /// sessions as they are (for events the LMS's records stand for, such as gradebook
    /// attempts). Returns, per input event, whether it was new.
    pub async fn record_activity_without_rollups(
        &self,
        course: CourseId,
        events: &[NewActivity],
    ) -> StoreResult<Vec<bool>> {
        self.record_one(course, events.to_vec(), None).await
    }

    async fn record_one(
        &self,
        course: CourseId,
        events: Vec<NewActivity>,
        bucketing: Option<Bucketing>,
    ) -> StoreResult<Vec<bool>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let room = self.reserve_activity(events.len()).await;
        let batch = CourseBatch {
            course,
            events,
            bucketing,
        };
        let mut fresh = self.record_activity_batches(room, vec![batch]).await?;
        Ok(fresh.pop().unwrap_or_default())
    }

    fn activity_queue(&self) -> &ActivityQueue {
        match self {
            Store::Sqlite(db) => &db.activity,
            Store::Postgres(db) => &db.activity,
        }
    }

    /// Room in the activity queue for `events`, or [`super::StoreError::Busy`] at once if
    /// the queue lacks it (for pushed events: the sender is told to resend).
    pub fn try_reserve_activity(&self, events: usize) -> StoreResult<QueueRoom> {
        self.activity_queue().try_reserve(events)
    }

    /// Room in the activity queue for `events`, waiting for it (for imports).
    pub async fn reserve_activity(&self, events: usize) -> QueueRoom {
        self.activity_queue().reserve(events).await
    }

    /// Records `batches` (each one course's, with or without rollups) in one transaction,
    /// shared with other batches recorded meanwhile, in the queue room `room` holds.
    /// Returns, per batch, per event, whether it was new: an event already stored, or
    /// repeated earlier in the batches, is not.
    pub async fn record_activity_batches(
        &self,
        room: QueueRoom,
        batches: Vec<CourseBatch>,
    ) -> StoreResult<Vec<Vec<bool>>> {
        self.activity_queue().record(room, batches).await
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
                Store::Postgres(PostgresDb { pool, .. }) => sqlx::query_as(
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
            Store::Postgres(PostgresDb { pool, .. }) => {
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
