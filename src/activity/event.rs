//! What an activity event is: its kind and source in the vocabulary every source is mapped
//! to, an event to record (resolved to cloop's ids), and an event as stored.

use serde::Serialize;

use crate::store::{ContentItemId, EpochMs, UserId};

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
    pub const ALL: [Self; 7] = [
        Self::View,
        Self::Post,
        Self::Attempt,
        Self::Submission,
        Self::Grade,
        Self::Login,
        Self::Logout,
    ];

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

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The kind's code in activity packs (stored: never renumber).
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

/// Where an event came from.
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
    pub const ALL: [Self; 6] = [
        Self::Caliper,
        Self::Xapi,
        Self::BbAccumulator,
        Self::Loop,
        Self::MoodleLog,
        Self::Gradebook,
    ];

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

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The source's code in activity packs (stored: never renumber).
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
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

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredActivity {
    pub user_id: Option<UserId>,
    pub content_item_id: Option<ContentItemId>,
    pub kind: ActivityKind,
    pub occurred_at: EpochMs,
    pub source: ActivitySource,
    pub idempotency_key: String,
}

impl StoredActivity {
    /// The event's identity within its course: its instant and idempotency key.
    pub fn key(&self) -> (i64, &str) {
        (self.occurred_at.0, &self.idempotency_key)
    }

    /// The event as one to record again (a rebuild of the rollups folds these in).
    pub fn into_new(self) -> NewActivity {
        NewActivity {
            user: self.user_id,
            content_item: self.content_item_id,
            kind: self.kind,
            occurred_at: self.occurred_at,
            source: self.source,
            idempotency_key: self.idempotency_key,
            session_ref: None,
        }
    }
}

/// Where a walk through a course's events has got to: the instant and key of the last
/// event read (none yet at the start).
#[derive(Clone, Debug, Default)]
pub struct ActivityCursor(pub(crate) Option<(i64, String)>);

impl ActivityCursor {
    /// Moves the cursor past `page`'s last event.
    pub(crate) fn advance(&mut self, page: &[StoredActivity]) {
        if let Some(last) = page.last() {
            self.0 = Some((last.occurred_at.0, last.idempotency_key.clone()));
        }
    }

    /// Whether an event with `key` comes after the cursor.
    pub(crate) fn is_before(&self, key: (i64, &str)) -> bool {
        self.0
            .as_ref()
            .is_none_or(|(at, k)| key > (*at, k.as_str()))
    }
}
