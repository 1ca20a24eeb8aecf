//! What every event must satisfy before it is stored, whatever its source: LMS ids without
//! control characters, and a time from ten years before its arrival to one day after.
//!
//! The ids are the only text of an event cloop stores (course, user and item ids, the event
//! id, the session); any C0 control character (U+0000–U+001F) or DEL in them refuses the
//! event: PostgreSQL cannot store NUL, and no LMS id carries tabs or line breaks.

use super::LmsEvent;
use crate::store::EpochMs;

const DAY_MS: i64 = 86_400_000;
/// How far back an event may lie: ten years (of 365.25 days).
const MAX_AGE_MS: i64 = 3_652 * DAY_MS + DAY_MS / 2;
/// How far ahead of its arrival an event may lie (clock skew, time zones).
const MAX_AHEAD_MS: i64 = DAY_MS;

/// The times events may carry, fixed when a batch arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventWindow {
    pub arrived: EpochMs,
}

impl EventWindow {
    pub fn now() -> Self {
        Self {
            arrived: EpochMs::now(),
        }
    }

    /// The event, if it may be stored; else why not, in words for the sender.
    pub fn check(&self, event: &LmsEvent) -> Result<(), String> {
        let ids = [
            ("course id", event.course.pk.as_deref()),
            ("course external id", event.course.external_id.as_deref()),
            ("user id", event.user_pk.as_deref()),
            (
                "content id",
                event.content.as_ref().map(|c| c.lms_id.as_str()),
            ),
            ("event id", Some(event.idempotency_key.as_str())),
            ("session id", event.session_ref.as_deref()),
        ];
        for (what, value) in ids {
            if let Some(c) = value.and_then(|v| v.chars().find(|c| c.is_ascii_control())) {
                return Err(format!(
                    "the {what} contains the control character U+{:04X}; cloop stores no \
                     control characters in LMS ids, so the event was not stored",
                    u32::from(c)
                ));
            }
        }
        let at = event.occurred_at;
        if at.0 < self.arrived.0.saturating_sub(MAX_AGE_MS) {
            return Err(format!(
                "the event time {at} is more than 10 years before it arrived ({}); \
                 cloop keeps no older activity",
                self.arrived
            ));
        }
        if at.0 > self.arrived.0.saturating_add(MAX_AHEAD_MS) {
            return Err(format!(
                "the event time {at} is more than a day after it arrived ({}); check the \
                 sender's clock and time zone",
                self.arrived
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ActivityKind, ActivitySource, ContentRef, CourseRef, ItemGroup};

    fn event(at: EpochMs) -> LmsEvent {
        LmsEvent {
            course: CourseRef {
                pk: Some("_1_1".into()),
                external_id: None,
            },
            user_pk: Some("_2_1".into()),
            content: Some(ContentRef {
                lms_id: "_3_1".into(),
                group: ItemGroup::Content,
            }),
            kind: ActivityKind::View,
            occurred_at: at,
            source: ActivitySource::Caliper,
            idempotency_key: "caliper:1".into(),
            session_ref: None,
        }
    }

    #[test]
    fn times_from_ten_years_back_to_a_day_ahead_are_accepted() {
        let window = EventWindow {
            arrived: EpochMs(1_800_000_000_000),
        };
        let now = window.arrived.0;
        assert!(window.check(&event(EpochMs(now))).is_ok());
        assert!(window.check(&event(EpochMs(now + MAX_AHEAD_MS))).is_ok());
        assert!(window.check(&event(EpochMs(now - MAX_AGE_MS))).is_ok());
        let ahead = window.check(&event(EpochMs(now + 2 * DAY_MS))).unwrap_err();
        assert!(ahead.contains("more than a day after"), "{ahead}");
        let old = window
            .check(&event(EpochMs(now - 20 * 365 * DAY_MS)))
            .unwrap_err();
        assert!(old.contains("more than 10 years before"), "{old}");
        assert!(window.check(&event(EpochMs(i64::MAX))).is_err());
        assert!(window.check(&event(EpochMs(i64::MIN))).is_err());
    }

    #[test]
    fn control_characters_in_any_stored_id_refuse_the_event() {
        let window = EventWindow::now();
        let good = event(window.arrived);
        assert!(window.check(&good).is_ok());
        let mut bad = good.clone();
        bad.user_pk = Some("_2\u{0}_1".into());
        assert!(
            window
                .check(&bad)
                .unwrap_err()
                .contains("user id contains the control character U+0000")
        );
        let mut bad = good.clone();
        bad.session_ref = Some("a\tb".into());
        assert!(window.check(&bad).unwrap_err().contains("U+0009"));
        let mut bad = good.clone();
        bad.course.external_id = Some("x\u{7f}".into());
        assert!(window.check(&bad).unwrap_err().contains("U+007F"));
        let mut bad = good;
        bad.idempotency_key = "caliper:\n".into();
        assert!(window.check(&bad).unwrap_err().contains("event id"));
    }
}
