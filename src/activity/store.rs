//! The one interface each engine's activity writer implements, and `Store`'s activity
//! methods: recording goes through the queue to the engine's writer; events are read back
//! from their packs with one SQL text for both engines.

use std::future::Future;

use super::clock::Bucketing;
use super::event::{ActivityCursor, NewActivity, StoredActivity};
use super::pack::{last_instant, minute_of, unpack};
use super::queue::{ActivityQueue, CourseBatch, CourseWrite, QueueRoom};
use crate::store::{CourseId, EpochMs, Store, StoreResult, on_pool};

/// Packs read per page of a course's events (about 60 events each when busy).
const PACKS_PER_PAGE: i64 = 1_000;

/// How a course's events and rollups are written. Both engines pass the same contract
/// tests through this interface and `Store`'s methods (`tests/api/activity_contract.rs`).
pub(crate) trait ActivityStore: Clone + Send + Sync + 'static {
    /// Stores each write's events that are not stored yet, and folds exactly those into the
    /// course's rollups and sessions when the write has a bucketing, all in one
    /// transaction. Per write, per event, whether it was new.
    fn record(
        &self,
        writes: &[CourseWrite<'_>],
    ) -> impl Future<Output = StoreResult<Vec<Vec<bool>>>> + Send;

    /// Deletes the course's rollups and sessions and counts them again from its stored
    /// events (those recorded with rollups), in one transaction.
    fn recount_rollups(
        &self,
        course: CourseId,
        bucketing: &Bucketing,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Seals the course's student-days that are over everywhere, where the engine keeps
    /// sealed days apart for reading by student (SQLite; see `sealed_days`).
    fn seal_finished_days(&self, course: CourseId) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A database's activity: its store, and the queue recording goes through.
#[derive(Clone, Debug)]
pub(crate) struct Activity<S> {
    pub(crate) store: S,
    pub(crate) queue: ActivityQueue,
}

impl<S: ActivityStore> Activity<S> {
    /// The store, with `writers` group-commit writers in front of it and room for
    /// `capacity` events waiting.
    pub(crate) fn new(store: S, writers: usize, capacity: usize) -> Self {
        let queue = ActivityQueue::start(store.clone(), writers, capacity);
        Self { store, queue }
    }
}

/// Runs one body against the store's activity, whichever engine it is on.
macro_rules! on_activity {
    ($store:expr, $activity:ident => $body:expr) => {
        match $store {
            Store::Sqlite(db) => {
                let $activity = &db.activity;
                $body
            }
            Store::Postgres(db) => {
                let $activity = &db.activity;
                $body
            }
        }
    };
}

/// Tables holding a course's rollups and sessions, which a recount empties first.
pub(crate) const ROLLUP_TABLES: [&str; 9] = [
    "rollup_course_day",
    "rollup_content_day",
    "rollup_student_day",
    "rollup_student_total",
    "rollup_item_total",
    "rollup_student_items",
    "rollup_student_hour",
    "rollup_course_hour",
    "student_sessions",
];

/// Events that are not pending resolution but must not count in rollups are recorded with
/// [`Store::record_activity_without_rollups`]; a recount leaves them out by source.
pub(crate) fn counts_in_rollups(event: &StoredActivity) -> bool {
    event.source != super::ActivitySource::Gradebook
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
    /// sessions as they are (for events the LMS's records stand for: gradebook attempts).
    /// Returns, per input event, whether it was new.
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
        on_activity!(self, activity => &activity.queue)
    }

    /// Events received and waiting in the activity queue to be committed.
    pub fn activity_waiting(&self) -> usize {
        self.activity_queue().waiting()
    }

    /// Room in the activity queue for `events`, or [`crate::store::StoreError::Busy`] at
    /// once if the queue lacks it (for pushed events: the sender is told to resend).
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
        let first_minute = cursor.0.as_ref().map_or(i64::MIN, |(at, _)| minute_of(*at));
        let packs: Vec<(i64, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT minute, events FROM activity_packs WHERE course_id = $1 \
                 AND minute >= $2 ORDER BY minute LIMIT $3",
            )
            .bind(course)
            .bind(first_minute)
            .bind(PACKS_PER_PAGE)
            .fetch_all(pool)
            .await
        })?;
        let mut page = Vec::new();
        for (minute, bytes) in &packs {
            page.extend(
                unpack(*minute, bytes)?
                    .into_iter()
                    .filter(|e| cursor.is_before(e.key())),
            );
        }
        cursor.advance(&page);
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
        let last: Option<(i64, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT minute, events FROM activity_packs WHERE course_id = $1 \
                 AND minute <= $2 ORDER BY minute DESC LIMIT 1",
            )
            .bind(course)
            .bind(minute_of(not_after.0))
            .fetch_optional(pool)
            .await
        })?;
        Ok(match last {
            Some((minute, bytes)) => last_instant(minute, &bytes)?,
            None => None,
        })
    }

    /// Counts the course's rollups and sessions again from its stored events, in one
    /// transaction: a repair, and what the incremental rollups must always equal.
    pub async fn recount_activity_rollups(
        &self,
        course: CourseId,
        bucketing: &Bucketing,
    ) -> StoreResult<()> {
        on_activity!(self, activity => activity.store.recount_rollups(course, bucketing).await)
    }

    /// Seals the course's finished student-days now, rather than at the writer's next turn:
    /// after an import or a seed, so the pages that read by student find them in order.
    pub async fn seal_finished_student_days(&self, course: CourseId) -> StoreResult<()> {
        on_activity!(self, activity => activity.store.seal_finished_days(course).await)
    }
}
