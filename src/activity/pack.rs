//! Packed events (both engines): a course's events of one minute live in one row, encoded
//! compactly and sorted by instant and key, so a bulk import writes one B-tree entry per
//! busy minute rather than one per event, and an event is new only if its pack lacks it.

use serde::{Deserialize, Serialize};

use super::event::{ActivityKind, ActivitySource, NewActivity, StoredActivity};
use crate::store::{ContentItemId, EpochMs, UserId};

/// The span of one pack.
pub(crate) const MINUTE_MS: i64 = 60_000;

/// The pack an instant belongs to: whole minutes since 1970 (earlier instants count down).
pub(crate) fn minute_of(at: i64) -> i64 {
    at.div_euclid(MINUTE_MS)
}

/// One event as a pack holds it; the minute is the pack's.
#[derive(Debug, Serialize, Deserialize)]
struct PackedEvent<'a> {
    /// Milliseconds into the pack's minute.
    offset_ms: u16,
    kind: u8,
    source: u8,
    user: Option<i64>,
    item: Option<i64>,
    #[serde(borrow)]
    key: &'a str,
    #[serde(borrow)]
    session: Option<&'a str>,
}

impl<'a> PackedEvent<'a> {
    fn of(e: &'a NewActivity) -> Self {
        Self {
            offset_ms: u16::try_from(e.occurred_at.0.rem_euclid(MINUTE_MS))
                .expect("an offset within a minute fits in 16 bits"),
            kind: e.kind.code(),
            source: e.source.code(),
            user: e.user.map(|u| u.0),
            item: e.content_item.map(|c| c.0),
            key: &e.idempotency_key,
            session: e.session_ref.as_deref(),
        }
    }

    fn at(&self, minute: i64) -> i64 {
        minute * MINUTE_MS + i64::from(self.offset_ms)
    }
}

/// Why a stored pack could not be read.
#[derive(Debug, thiserror::Error)]
#[error("activity pack of minute {minute} is unreadable: {reason}")]
pub struct PackError {
    minute: i64,
    reason: String,
}

/// The events of a stored pack, in the pack's order.
fn events_of(minute: i64, bytes: &[u8]) -> Result<Vec<PackedEvent<'_>>, PackError> {
    postcard::from_bytes(bytes).map_err(|e| PackError {
        minute,
        reason: e.to_string(),
    })
}

fn encode(events: &[PackedEvent<'_>]) -> Vec<u8> {
    postcard::to_allocvec(events).expect("packing to memory cannot fail")
}

/// A new pack of `events`, which all fall in one minute, sorted by instant and key, no
/// key twice.
pub(crate) fn pack(events: &[&NewActivity]) -> Vec<u8> {
    let packed: Vec<PackedEvent<'_>> = events.iter().map(|e| PackedEvent::of(e)).collect();
    encode(&packed)
}

/// Adds `events` (one minute's, sorted by instant and key, no key twice) to the stored
/// pack `stored`: returns, per event, whether the pack lacked it, and the new pack if any
/// event was added.
pub(crate) fn merge(
    minute: i64,
    stored: &[u8],
    events: &[&NewActivity],
) -> Result<(Vec<bool>, Option<Vec<u8>>), PackError> {
    let old = events_of(minute, stored)?;
    let mut merged = Vec::with_capacity(old.len() + events.len());
    let mut fresh = Vec::with_capacity(events.len());
    let mut old = old.into_iter().peekable();
    for e in events {
        let key = e.key();
        while let Some(o) = old.next_if(|o| (o.at(minute), o.key) < key) {
            merged.push(o);
        }
        let known = old.peek().is_some_and(|o| (o.at(minute), o.key) == key);
        fresh.push(!known);
        if !known {
            merged.push(PackedEvent::of(e));
        }
    }
    merged.extend(old);
    let added = fresh.iter().any(|f| *f);
    Ok((fresh, added.then(|| encode(&merged))))
}

/// A pack to write: a minute's events, and whether that minute already had a stored pack
/// (which this one replaces).
pub(crate) struct PackWrite {
    pub minute: i64,
    pub events: Vec<u8>,
    pub replaces: bool,
}

/// The distinct minutes `events` fall in, in order.
pub(crate) fn minutes_of(events: &[&NewActivity]) -> Vec<i64> {
    let mut minutes: Vec<i64> = events.iter().map(|e| minute_of(e.occurred_at.0)).collect();
    minutes.sort_unstable();
    minutes.dedup();
    minutes
}

/// Adds `events` (no key twice) to the packs of their minutes, whose stored bytes
/// `stored` gives (none: the minute has no pack yet): per event, whether its pack lacked
/// it, and the packs to write. Both writers store events through this; only how they
/// read and write the packs differs.
pub(crate) fn add_to_packs<E>(
    events: &[&NewActivity],
    mut stored: impl FnMut(i64) -> Result<Option<Vec<u8>>, E>,
    unreadable: impl Fn(PackError) -> E,
) -> Result<(Vec<bool>, Vec<PackWrite>), E> {
    let minute = |i: usize| minute_of(events[i].occurred_at.0);
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_unstable_by(|&a, &b| events[a].key().cmp(&events[b].key()));
    let mut fresh = vec![false; events.len()];
    let mut writes = Vec::new();
    let mut incoming = Vec::new();
    for same_minute in order.chunk_by(|&a, &b| minute(a) == minute(b)) {
        let at = minute(same_minute[0]);
        incoming.clear();
        incoming.extend(same_minute.iter().map(|&i| events[i]));
        let (added, bytes, replaces) = match stored(at)? {
            None => (vec![true; incoming.len()], Some(pack(&incoming)), false),
            Some(stored) => {
                let (added, grown) = merge(at, &stored, &incoming).map_err(&unreadable)?;
                (added, grown, true)
            }
        };
        for (&i, new) in same_minute.iter().zip(added) {
            fresh[i] = new;
        }
        if let Some(events) = bytes {
            writes.push(PackWrite {
                minute: at,
                events,
                replaces,
            });
        }
    }
    Ok((fresh, writes))
}

/// The events of a stored pack as rows, in time order.
pub(crate) fn unpack(minute: i64, bytes: &[u8]) -> Result<Vec<StoredActivity>, PackError> {
    events_of(minute, bytes)?
        .into_iter()
        .map(|e| {
            let bad = |what: &str, code: u8| PackError {
                minute,
                reason: format!("unknown {what} code {code}"),
            };
            Ok(StoredActivity {
                user_id: e.user.map(UserId),
                content_item_id: e.item.map(ContentItemId),
                kind: ActivityKind::from_code(e.kind).ok_or_else(|| bad("kind", e.kind))?,
                occurred_at: EpochMs(e.at(minute)),
                source: ActivitySource::from_code(e.source)
                    .ok_or_else(|| bad("source", e.source))?,
                idempotency_key: e.key.to_string(),
            })
        })
        .collect()
}

/// The instant of a stored pack's last event.
pub(crate) fn last_instant(minute: i64, bytes: &[u8]) -> Result<Option<EpochMs>, PackError> {
    Ok(events_of(minute, bytes)?
        .last()
        .map(|e| EpochMs(e.at(minute))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: i64, key: &str, kind: ActivityKind) -> NewActivity {
        NewActivity {
            user: Some(UserId(7)),
            content_item: (kind == ActivityKind::View).then_some(ContentItemId(3)),
            kind,
            occurred_at: EpochMs(at),
            source: ActivitySource::Caliper,
            idempotency_key: key.to_string(),
            session_ref: Some("s-1".into()),
        }
    }

    #[test]
    fn every_kind_and_source_reads_back_from_its_code() {
        for kind in ActivityKind::ALL {
            assert_eq!(ActivityKind::from_code(kind.code()), Some(kind));
        }
        for source in ActivitySource::ALL {
            assert_eq!(ActivitySource::from_code(source.code()), Some(source));
        }
        assert_eq!(ActivityKind::from_code(7), None);
    }

    #[test]
    fn minutes_count_down_before_1970() {
        assert_eq!(minute_of(0), 0);
        assert_eq!(minute_of(59_999), 0);
        assert_eq!(minute_of(60_000), 1);
        assert_eq!(minute_of(-1), -1);
    }

    #[test]
    fn a_pack_reads_back_as_written() {
        let minute = minute_of(1_700_000_000_000);
        let base = minute * MINUTE_MS;
        let a = event(base + 5, "a", ActivityKind::View);
        let b = event(base + 59_999, "b", ActivityKind::Grade);
        let rows = unpack(minute, &pack(&[&a, &b])).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].occurred_at, EpochMs(base + 5));
        assert_eq!(rows[0].kind, ActivityKind::View);
        assert_eq!(rows[0].content_item_id, Some(ContentItemId(3)));
        assert_eq!(rows[1].occurred_at, EpochMs(base + 59_999));
        assert_eq!(rows[1].kind, ActivityKind::Grade);
        assert_eq!(rows[1].source, ActivitySource::Caliper);
        assert_eq!(rows[1].idempotency_key, "b");
        assert_eq!(rows[1].content_item_id, None);
        assert_eq!(
            last_instant(minute, &pack(&[&a, &b])).unwrap(),
            Some(EpochMs(base + 59_999))
        );
    }

    #[test]
    fn merging_keeps_order_and_stores_each_key_once() {
        let minute = 1_000;
        let base = minute * MINUTE_MS;
        let stored = pack(&[
            &event(base + 10, "b", ActivityKind::View),
            &event(base + 30, "d", ActivityKind::View),
        ]);
        let incoming = [
            event(base + 10, "a", ActivityKind::View),
            event(base + 10, "b", ActivityKind::View),
            event(base + 20, "c", ActivityKind::Post),
            event(base + 40, "e", ActivityKind::View),
        ];
        let refs: Vec<&NewActivity> = incoming.iter().collect();
        let (fresh, merged) = merge(minute, &stored, &refs).unwrap();
        assert_eq!(fresh, [true, false, true, true]);
        let keys: Vec<String> = unpack(minute, &merged.unwrap())
            .unwrap()
            .into_iter()
            .map(|e| e.idempotency_key)
            .collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e"]);

        let (fresh, merged) = merge(minute, &stored, &refs[1..2]).unwrap();
        assert_eq!(fresh, [false]);
        assert!(merged.is_none(), "nothing new, nothing to write");
    }

    #[test]
    fn a_damaged_pack_is_an_error_not_a_panic() {
        let err = unpack(5, &[0xff, 0xff, 0xff]).unwrap_err();
        assert!(err.to_string().contains("minute 5"), "{err}");
    }
}
