//! Events of courses cloop does not know yet are kept to be attached when the course
//! appears, at most `pending_events_per_platform` of them per platform.

use crate::ingest::LmsEvent;
use crate::store::{PlatformId, Store, StoreResult};

/// What became of an event of an unknown course.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    New,
    /// Already kept.
    Duplicate,
    /// The platform already has as many pending events as it may.
    Full,
}

/// Keeps one batch's events of unknown courses within the platform's cap. The count is
/// read once per batch, so concurrent batches may overshoot by at most their own size.
pub struct PendingKeeper {
    platform: PlatformId,
    cap: u64,
    room: Option<u64>,
}

impl PendingKeeper {
    pub fn new(platform: PlatformId, cap: u64) -> Self {
        Self {
            platform,
            cap,
            room: None,
        }
    }

    pub fn cap(&self) -> u64 {
        self.cap
    }

    pub async fn keep(
        &mut self,
        store: &Store,
        event: &LmsEvent,
        raw: &serde_json::Value,
    ) -> StoreResult<Kept> {
        let room = match self.room {
            Some(room) => room,
            None => {
                let held = u64::try_from(store.pending_event_count(self.platform).await?)
                    .unwrap_or_default();
                self.cap.saturating_sub(held)
            }
        };
        let source = event.source.as_str();
        if room == 0 {
            self.room = Some(0);
            let kept = store
                .has_pending_event(self.platform, source, &event.idempotency_key)
                .await?;
            return Ok(if kept { Kept::Duplicate } else { Kept::Full });
        }
        let course_ref = event.course.key().unwrap_or_default();
        let new = store
            .add_pending_event(
                self.platform,
                course_ref,
                source,
                &event.idempotency_key,
                &raw.to_string(),
            )
            .await?;
        self.room = Some(if new { room - 1 } else { room });
        Ok(if new { Kept::New } else { Kept::Duplicate })
    }
}
