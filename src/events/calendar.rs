//! A course's teaching calendar: start date, number of weeks and time zone. Days are
//! numbered from 1970-01-01 by the local date in the course time zone (the rollups' `day`).

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use super::date::CourseDate;
use crate::activity::{CourseClock, Day};
use crate::store::EpochMs;

const SECS_PER_DAY: i64 = 86_400;
/// The most weeks a course can have.
pub const MAX_WEEKS: i64 = 104;

/// Why a calendar could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("{0:?} is not a time zone cloop knows; use an IANA name such as Australia/Melbourne")]
    TimeZone(String),
    #[error("the number of weeks must be between 1 and {MAX_WEEKS}, not {0}")]
    Weeks(i64),
}

/// Start date, length and time zone of a course offering. Built only through
/// [`Calendar::new`], so its days and weeks stay within the accepted dates.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub start: Date,
    pub weeks: i64,
    pub tz: TimeZone,
    pub tz_name: String,
    /// The zone's local days, as the rollups count them.
    clock: CourseClock,
}

impl Calendar {
    pub fn new(start: CourseDate, weeks: i64, tz_name: &str) -> Result<Self, CalendarError> {
        if !(1..=MAX_WEEKS).contains(&weeks) {
            return Err(CalendarError::Weeks(weeks));
        }
        let tz = TimeZone::get(tz_name).map_err(|_| CalendarError::TimeZone(tz_name.into()))?;
        let clock =
            CourseClock::new(tz_name).ok_or_else(|| CalendarError::TimeZone(tz_name.into()))?;
        Ok(Self {
            clock,
            start: start.get(),
            weeks,
            tz,
            tz_name: tz_name.to_string(),
        })
    }

    /// The day number of a calendar date.
    pub fn day_number(date: Date) -> i64 {
        Day::of_date(date).0
    }

    /// The calendar date of a day number (clamped to the dates jiff can hold).
    pub fn date_of(day: i64) -> Date {
        Day(day).date()
    }

    /// The local day an instant falls on (the course clock's, which the rollups use).
    pub fn day_of(&self, t: EpochMs) -> i64 {
        self.clock.day_of(t).0
    }

    /// The fraction of its local day an instant has reached (0 at midnight).
    pub fn day_fraction(&self, t: EpochMs) -> f64 {
        Timestamp::from_millisecond(t.0)
            .map(|ts| {
                let z = ts.to_zoned_datetime(self.tz.clone());
                let secs = i64::from(z.hour()) * 3600 + i64::from(z.minute()) * 60;
                secs as f64 / SECS_PER_DAY as f64
            })
            .unwrap_or(0.0)
    }

    /// The instant of a local date and minute of the day in the course time zone (a time
    /// skipped by a daylight-saving change moves forward).
    pub fn instant(&self, date: Date, minute_of_day: i64) -> EpochMs {
        let minute = minute_of_day.clamp(0, 24 * 60 - 1);
        let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).unwrap_or(Time::MIN);
        date.to_datetime(time)
            .to_zoned_datetime(self.tz.clone())
            .map(|z| EpochMs(z.timestamp().as_millisecond()))
            .unwrap_or(EpochMs(0))
    }

    /// A local date-time rendered for people, in the course time zone.
    pub fn format(&self, t: EpochMs) -> String {
        Timestamp::from_millisecond(t.0)
            .map(|ts| {
                ts.to_zoned_datetime(self.tz.clone())
                    .strftime("%a %Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// A local date-time for a `datetime-local` input.
    pub fn input_value(&self, t: EpochMs) -> String {
        Timestamp::from_millisecond(t.0)
            .map(|ts| {
                ts.to_zoned_datetime(self.tz.clone())
                    .strftime("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }

    pub fn start_day(&self) -> i64 {
        Self::day_number(self.start)
    }

    /// The first day after the course.
    pub fn end_day(&self) -> i64 {
        self.start_day()
            .saturating_add(self.weeks.saturating_mul(7))
    }

    /// Days of week `n` (1-based): `[start + 7(n-1), start + 7n)`.
    pub fn week_days(&self, n: i64) -> (i64, i64) {
        let from = self
            .start_day()
            .saturating_add(n.saturating_sub(1).saturating_mul(7));
        (from, from.saturating_add(7))
    }

    /// The week a day falls in (1-based; may be outside 1..=weeks).
    pub fn week_of(&self, day: i64) -> i64 {
        day.saturating_sub(self.start_day()).div_euclid(7) + 1
    }

    /// The first and last instant of the course (midnight at its start, midnight after it).
    pub fn bounds(&self) -> (EpochMs, EpochMs) {
        (
            self.instant(self.start, 0),
            self.instant(Self::date_of(self.end_day()), 0),
        )
    }

    /// The date of the given weekday (0 = Monday) in week `n`.
    pub fn weekday_in_week(&self, n: i64, weekday: i64) -> Date {
        let start_wd = i64::from(self.start.weekday().to_monday_zero_offset());
        let offset = (weekday.rem_euclid(7) - start_wd).rem_euclid(7);
        Self::date_of(self.week_days(n).0.saturating_add(offset))
    }
}

/// Monday-first weekday names, index = stored `weekday`.
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn days_weeks_and_instants_follow_the_course_time_zone() {
        let start = CourseDate::new(date(2026, 3, 2)).unwrap();
        let cal = Calendar::new(start, 12, "Australia/Melbourne").unwrap();
        assert_eq!(cal.start_day(), 20514);
        assert_eq!(Calendar::date_of(20514), date(2026, 3, 2));
        // 2026-03-02 09:00 in Melbourne (UTC+11) is 2026-03-01 22:00 UTC.
        let t = cal.instant(date(2026, 3, 2), 9 * 60);
        assert_eq!(t, EpochMs(1_772_402_400_000));
        assert_eq!(cal.day_of(t), 20514);
        assert_eq!(cal.week_of(20514 + 7), 2);
        assert_eq!(cal.weekday_in_week(2, 2), date(2026, 3, 11));
        assert!(Calendar::new(start, 0, "UTC").is_err());
        assert!(Calendar::new(start, 12, "Mars/Olympus").is_err());
    }

    #[test]
    fn day_arithmetic_saturates_instead_of_panicking() {
        let cal = Calendar::new(
            CourseDate::new(date(2100, 12, 27)).unwrap(),
            104,
            "Pacific/Kiritimati",
        )
        .unwrap();
        assert!(cal.end_day() > cal.start_day());
        let _ = cal.bounds();
        let _ = cal.weekday_in_week(i64::MAX, 6);
        let _ = cal.week_days(i64::MIN);
        assert_eq!(Calendar::date_of(i64::MAX), Date::MAX);
        assert_eq!(Calendar::date_of(i64::MIN), Date::MIN);
        assert_eq!(Calendar::day_number(date(1970, 1, 2)), 1);
        assert_eq!(Calendar::day_number(date(1969, 12, 31)), -1);
        // A stored minute of the day out of range is clamped, not a panic.
        let _ = cal.instant(date(2026, 3, 2), 100_000);
        let _ = cal.week_of(i64::MIN);
        assert!(cal.format(EpochMs(i64::MAX)).is_empty());
    }
}
