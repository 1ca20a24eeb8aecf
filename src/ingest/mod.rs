//! Activity ingestion: Caliper and xAPI pushes and file imports are mapped to LMS-keyed
//! events, resolved to cloop's ids, and recorded once each with their rollups.

pub mod accumulator;
pub mod caliper;
mod checks;
pub mod clock;
pub mod import;
mod import_report;
pub mod loop_export;
pub mod moodle_log;
mod pending;
pub mod push_cache;
pub mod rejections;
mod resolve;
pub mod synthetic;
pub mod xapi;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use crate::activity::{ActivityKind, ActivitySource, NewActivity};
pub use crate::store::ingest::{CourseLookup, CourseRef};
pub use checks::EventWindow;
pub use clock::CourseClock;
pub use push_cache::PushCache;
pub use resolve::Resolver;

use crate::activity::{Bucketing, CourseBatch};
use crate::store::{CourseId, EpochMs, PlatformId, Store, StoreResult};
use pending::{Kept, PendingKeeper};

/// The default pause that ends a session (config key `session_gap`).
pub const DEFAULT_SESSION_GAP: Duration = Duration::from_secs(40 * 60);

/// Rejected reasons kept in a report; past this only the count grows, so a bad file of
/// millions of rows cannot fill memory.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;

/// What happened to a batch of events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Stored for the first time.
    pub new: u64,
    /// Already stored (or repeated in the batch): not stored again.
    pub duplicate: u64,
    /// Not stored; `rejections` says why.
    pub rejected: u64,
    /// Kept for a course cloop does not know yet; attached when the course appears.
    pub pending: u64,
    pub rejections: Vec<Rejection>,
}

/// One event or row that could not be stored, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The position in the batch (0-based) or the line in the file (1-based).
    pub at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub reason: String,
}

impl IngestReport {
    /// The report of `sent` events recorded, of which those marked in `fresh` were new.
    pub fn of_fresh(sent: u64, fresh: &[bool]) -> Self {
        let new = fresh.iter().filter(|f| **f).count() as u64;
        Self {
            new,
            duplicate: sent - new,
            ..Self::default()
        }
    }

    pub fn reject(&mut self, at: u64, id: Option<String>, reason: impl Into<String>) {
        self.rejected += 1;
        if self.rejections.len() < MAX_LISTED_REJECTIONS {
            self.rejections.push(Rejection {
                at,
                id,
                reason: reason.into(),
            });
        }
    }

    pub fn absorb(&mut self, other: IngestReport) {
        self.new += other.new;
        self.duplicate += other.duplicate;
        self.pending += other.pending;
        self.rejected += other.rejected;
        let room = MAX_LISTED_REJECTIONS.saturating_sub(self.rejections.len());
        self.rejections
            .extend(other.rejections.into_iter().take(room));
    }
}

/// An event as a source names things: by LMS ids, not yet resolved to cloop's rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LmsEvent {
    pub course: CourseRef,
    /// The LMS's primary key of the user (`_123_1`; Moodle's numeric id).
    pub user_pk: Option<String>,
    pub content: Option<ContentRef>,
    pub kind: ActivityKind,
    pub occurred_at: EpochMs,
    pub source: ActivitySource,
    pub idempotency_key: String,
    pub session_ref: Option<String>,
}

/// A content item named by its LMS id, with the group it belongs to if it has to be
/// created as a placeholder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentRef {
    pub lms_id: String,
    pub group: ItemGroup,
}

/// The three groups Loop sorts resources into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemGroup {
    Content,
    Communication,
    Assessment,
}

impl ItemGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Content => "content",
            Self::Communication => "communication",
            Self::Assessment => "assessment",
        }
    }
}

/// An idempotency key made from the fields that identify an event, for sources that give
/// events no id of their own.
pub fn hashed_key(prefix: &str, fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update(field.as_bytes());
        hasher.update([0x1f]);
    }
    let digest = hasher.finalize();
    let mut key = String::with_capacity(prefix.len() + 33);
    key.push_str(prefix);
    key.push(':');
    key.push_str(&hex::encode(&digest[..16]));
    key
}

/// Records resolved events for one course, bucketing days in the course's time zone.
pub struct Recorder {
    pub course: CourseId,
    pub clock: CourseClock,
    pub session_gap: Duration,
}

impl Recorder {
    pub async fn for_course(
        store: &Store,
        course: CourseId,
        session_gap: Duration,
    ) -> StoreResult<Self> {
        let zone = store.course_time_zone(course).await?;
        Ok(Self {
            course,
            clock: CourseClock::or_utc(&zone),
            session_gap,
        })
    }

    /// How this course's events are bucketed into days and sessions.
    pub fn bucketing(&self) -> Bucketing {
        Bucketing {
            clock: self.clock.clone(),
            session_gap_ms: i64::try_from(self.session_gap.as_millis()).unwrap_or(i64::MAX / 4),
        }
    }

    /// Stores the new events and their rollups in one transaction; says which were new.
    pub async fn record(
        &self,
        store: &Store,
        events: Vec<NewActivity>,
    ) -> StoreResult<IngestReport> {
        let sent = events.len() as u64;
        let fresh = store
            .record_activity(self.course, events, self.bucketing())
            .await?;
        Ok(IngestReport::of_fresh(sent, &fresh))
    }
}

/// Records events of one course with the given session gap: the library's entry point for
/// any code that already knows cloop's ids.
pub async fn record(
    store: &Store,
    course: CourseId,
    events: Vec<NewActivity>,
    session_gap: Duration,
) -> StoreResult<IngestReport> {
    Recorder::for_course(store, course, session_gap)
        .await?
        .record(store, events)
        .await
}

/// One pushed event after mapping: the event and its JSON (kept if its course is
/// unknown), or why it was rejected.
pub type Mapped = Result<(LmsEvent, serde_json::Value), String>;

/// How pushed events are taken in: the session gap, the cap on events kept for unknown
/// courses per platform, and what the server remembers across pushes.
pub struct PushIntake<'a> {
    pub session_gap: Duration,
    pub pending_cap: u64,
    pub cache: &'a Arc<PushCache>,
}

/// Stores pushed events of one platform: those of known courses are recorded, those of
/// unknown courses are kept for later (up to the intake's cap per platform), rejected
/// ones are reported with their position.
pub async fn ingest_pushed(
    store: &Store,
    platform: PlatformId,
    intake: PushIntake<'_>,
    mapped: Vec<(Option<String>, Mapped)>,
) -> StoreResult<IngestReport> {
    let PushIntake {
        session_gap,
        pending_cap,
        cache,
    } = intake;
    // Room for every event first: a sender told to resend has changed nothing.
    let room = store.try_reserve_activity(mapped.len())?;
    let mut report = IngestReport::default();
    let mut resolver = Resolver::remembering(platform, Arc::clone(cache));
    let mut keeper = PendingKeeper::new(platform, pending_cap);
    let mut by_course: HashMap<CourseId, Vec<LmsEvent>> = HashMap::new();
    let window = EventWindow::now();
    for (at, (id, item)) in mapped.into_iter().enumerate() {
        match item.and_then(|(event, raw)| window.check(&event).map(|()| (event, raw))) {
            Err(reason) => report.reject(at as u64, id, reason),
            Ok((event, raw)) => match resolver.course(store, &event.course).await? {
                CourseLookup::Found(course) => by_course.entry(course).or_default().push(event),
                CourseLookup::Ambiguous => report.reject(
                    at as u64,
                    id,
                    format!(
                        "the course {:?} names courses of more than one deployment of this \
                         platform, so cloop cannot tell which one the event belongs to",
                        event.course.key().unwrap_or_default()
                    ),
                ),
                CourseLookup::Unknown => match keeper.keep(store, &event, &raw).await? {
                    Kept::New => report.pending += 1,
                    Kept::Duplicate => report.duplicate += 1,
                    Kept::Full => report.reject(
                        at as u64,
                        id,
                        format!(
                            "course {:?} is not known to cloop and {} events of unknown courses \
                             already wait for this platform: launch cloop from that course \
                             (or register its REST credentials) and send the event again",
                            event.course.key().unwrap_or_default(),
                            keeper.cap()
                        ),
                    ),
                },
            },
        }
    }
    let mut batches = Vec::with_capacity(by_course.len());
    for (course, events) in by_course {
        resolver.prefetch(store, course, &events).await?;
        let mut resolved = Vec::with_capacity(events.len());
        for event in events {
            resolved.push(resolver.activity(store, course, event).await?);
        }
        let recorder = Recorder::for_course(store, course, session_gap).await?;
        batches.push(CourseBatch {
            course,
            events: resolved,
            bucketing: Some(recorder.bucketing()),
        });
    }
    let sent: Vec<u64> = batches.iter().map(|b| b.events.len() as u64).collect();
    let fresh = store.record_activity_batches(room, batches).await?;
    for (sent, fresh) in sent.into_iter().zip(fresh) {
        report.absorb(IngestReport::of_fresh(sent, &fresh));
    }
    Ok(report)
}

/// Attaches the events kept for a course that was not known when they arrived. Call it
/// whenever a course is created or gains LMS ids (launch, sync); it is cheap when nothing
/// is pending.
pub async fn attach_pending(
    store: &Store,
    course: CourseId,
    session_gap: Duration,
) -> StoreResult<IngestReport> {
    let platform = store.course(course).await?.platform_id;
    let recorder = Recorder::for_course(store, course, session_gap).await?;
    let mut resolver = Resolver::new(platform);
    let mut report = IngestReport::default();
    let window = EventWindow::now();
    loop {
        let pending = store.pending_events_for_course(course, 1_000).await?;
        if pending.is_empty() {
            return Ok(report);
        }
        let mut events = Vec::with_capacity(pending.len());
        for kept in &pending {
            let mapped = serde_json::from_str::<serde_json::Value>(&kept.payload)
                .map_err(|e| e.to_string())
                .and_then(|value| match kept.source.as_str() {
                    "xapi" => xapi::map_statement(&value),
                    _ => caliper::map_event(&value),
                })
                .and_then(|event| window.check(&event).map(|()| event));
            match mapped {
                Ok(event) => events.push(resolver.activity(store, course, event).await?),
                Err(reason) => report.reject(kept.id as u64, None, reason),
            }
        }
        report.absorb(recorder.record(store, events).await?);
        let ids: Vec<i64> = pending.iter().map(|p| p.id).collect();
        store.remove_pending_events(&ids).await?;
    }
}

/// Creates a key for the platform's Caliper or xAPI pushes; returns its id and the key,
/// which is shown once and stored only hashed.
pub async fn new_ingest_key(
    store: &Store,
    platform: PlatformId,
    kind: crate::store::ingest::IngestKeyKind,
    label: &str,
) -> StoreResult<(i64, String)> {
    let key = crate::SecretKey::random_token();
    let id = store
        .add_ingest_key(platform, kind, &crate::SecretKey::hash_token(&key), label)
        .await?;
    Ok((id, key))
}
