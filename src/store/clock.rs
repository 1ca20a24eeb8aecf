//! A course's clock: which local day an instant falls on in the course's IANA time zone,
//! and what instant a local wall-clock time names there. Every "local day of an instant"
//! in cloop is this one.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::EpochMs;

const DAY_SECS: i64 = 86_400;

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

    /// Days since 1970-01-01 of the instant's local date.
    pub fn day_of(&self, at: EpochMs) -> i64 {
        let secs = at.0.div_euclid(1000);
        let offset = Timestamp::from_second(secs)
            .map(|ts| i64::from(self.tz.to_offset(ts).seconds()))
            .unwrap_or(0);
        (secs + offset).div_euclid(DAY_SECS)
    }

    /// The instant a local wall-clock time names (the earlier one in a repeated hour, the
    /// later side of a skipped one).
    pub fn instant_of(&self, local: DateTime) -> Option<EpochMs> {
        let instant = self.tz.to_ambiguous_timestamp(local).compatible().ok()?;
        Some(EpochMs(instant.as_millisecond()))
    }

    /// The local date a day number stands for.
    pub fn date_of_day(day: i64) -> Option<jiff::civil::Date> {
        let span = jiff::Span::new().try_days(day).ok()?;
        jiff::civil::date(1970, 1, 1).checked_add(span).ok()
    }
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
        assert_eq!(
            CourseClock::date_of_day(day).unwrap(),
            jiff::civil::date(2024, 3, 4)
        );
        assert_eq!(CourseClock::utc().day_of(at), day);
        // Half an hour later it is the next local day, while still the same UTC day.
        let later = EpochMs(at.0 + 30 * 60_000);
        assert_eq!(clock.day_of(later), day + 1);
        assert_eq!(CourseClock::utc().day_of(later), day);
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert!(CourseClock::new("Mars/Olympus").is_none());
    }
}
