//! A course's clock: which local [`Day`] an instant falls on in the course's IANA time
//! zone, and what instant a local wall-clock time names there. Every "local day of an
//! instant" in cloop is this one.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::store::EpochMs;

const DAY_SECS: i64 = 86_400;

/// A local calendar day, as days since 1970-01-01: the key of every day rollup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

const EPOCH: Date = jiff::civil::date(1970, 1, 1);

impl Day {
    /// The day of a calendar date.
    pub fn of_date(date: Date) -> Self {
        Self(date.duration_since(EPOCH).as_secs().div_euclid(DAY_SECS))
    }

    /// The calendar date this day stands for (clamped to the dates jiff can hold).
    pub fn date(self) -> Date {
        let (min, max) = (Self::of_date(Date::MIN).0, Self::of_date(Date::MAX).0);
        EPOCH
            .checked_add(SignedDuration::from_secs(self.0.clamp(min, max) * DAY_SECS))
            .unwrap_or(if self.0 < 0 { Date::MIN } else { Date::MAX })
    }
}

/// The time zone of one course, resolved once (the tz database is compiled in).
#[derive(Clone, Debug)]
pub struct CourseClock {
    tz: TimeZone,
}

impl CourseClock {
    /// The clock of an IANA zone name such as `Australia/Melbourne`; `None` if unknown.
    pub fn new(zone: &str) -> Option<Self> {
        TimeZone::get(zone).ok().map(|tz| Self { tz })
    }

    pub fn utc() -> Self {
        Self { tz: TimeZone::UTC }
    }

    /// The clock of `zone`, or UTC when the name is not a known zone.
    pub fn or_utc(zone: &str) -> Self {
        Self::new(zone).unwrap_or_else(Self::utc)
    }

    /// The instant's local day.
    pub fn day_of(&self, at: EpochMs) -> Day {
        let secs = at.0.div_euclid(1000);
        let offset = Timestamp::from_second(secs)
            .map(|ts| i64::from(self.tz.to_offset(ts).seconds()))
            .unwrap_or(0);
        Day((secs + offset).div_euclid(DAY_SECS))
    }

    /// The instant a local wall-clock time names (the earlier one in a repeated hour, the
    /// later side of a skipped one).
    pub fn instant_of(&self, local: DateTime) -> Option<EpochMs> {
        let instant = self.tz.to_ambiguous_timestamp(local).compatible().ok()?;
        Some(EpochMs(instant.as_millisecond()))
    }
}

/// How a course's events are bucketed: its local day, and the gap that ends a session.
#[derive(Clone, Debug)]
pub struct Bucketing {
    /// The course's time zone.
    pub clock: CourseClock,
    pub session_gap_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_evening_in_melbourne_is_that_local_day() {
        let clock = CourseClock::new("Australia/Melbourne").unwrap();
        // 2024-03-04 23:30 AEDT (UTC+11) is 2024-03-04T12:30Z.
        let at = clock
            .instant_of(jiff::civil::datetime(2024, 3, 4, 23, 30, 0, 0))
            .unwrap();
        assert_eq!(at, EpochMs(1_709_555_400_000));
        let day = clock.day_of(at);
        assert_eq!(day.date(), jiff::civil::date(2024, 3, 4));
        assert_eq!(Day::of_date(jiff::civil::date(2024, 3, 4)), day);
        assert_eq!(CourseClock::utc().day_of(at), day);
        // Half an hour later it is the next local day, while still the same UTC day.
        let later = EpochMs(at.0 + 30 * 60_000);
        assert_eq!(clock.day_of(later), Day(day.0 + 1));
        assert_eq!(CourseClock::utc().day_of(later), day);
    }

    #[test]
    fn days_past_the_calendar_are_its_last_date() {
        assert_eq!(Day(i64::MAX).date(), Date::MAX);
        assert_eq!(Day(i64::MIN).date(), Date::MIN);
        assert_eq!(Day::of_date(Date::MAX).date(), Date::MAX);
        assert_eq!(Day(-1).date(), jiff::civil::date(1969, 12, 31));
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert!(CourseClock::new("Mars/Olympus").is_none());
    }
}
