//! The dates cloop accepts from people, LMSs and event streams (1970-01-01 to 2100-12-31),
//! checked where they are parsed so no later day or week arithmetic can leave jiff's range.

use jiff::civil::{Date, date};

use crate::store::EpochMs;

/// The first date cloop accepts.
pub const FIRST_DATE: Date = date(1970, 1, 1);
/// The last date cloop accepts.
pub const LAST_DATE: Date = date(2100, 12, 31);
/// The first instant after [`LAST_DATE`] (2101-01-01T00:00Z).
const AFTER_LAST_MS: i64 = 4_133_980_800_000;

/// Why a date or an instant was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DateError {
    #[error("{0:?} is not a date; use YYYY-MM-DD")]
    NotADate(String),
    #[error("{0} is outside the dates cloop accepts ({FIRST_DATE} to {LAST_DATE}); check the year")]
    OutOfRange(String),
}

/// A calendar date within [`FIRST_DATE`]..=[`LAST_DATE`]; it can only be built checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CourseDate(Date);

impl CourseDate {
    pub const FIRST: Self = Self(FIRST_DATE);

    pub fn new(date: Date) -> Result<Self, DateError> {
        if (FIRST_DATE..=LAST_DATE).contains(&date) {
            Ok(Self(date))
        } else {
            Err(DateError::OutOfRange(date.to_string()))
        }
    }

    /// Parses `YYYY-MM-DD` (surrounding blanks ignored).
    pub fn parse(text: &str) -> Result<Self, DateError> {
        let date: Date = text
            .trim()
            .parse()
            .map_err(|_| DateError::NotADate(text.into()))?;
        Self::new(date)
    }

    /// A date read from the courses table, which may predate these checks.
    pub fn from_stored(date: time::Date) -> Result<Self, DateError> {
        let year =
            i16::try_from(date.year()).map_err(|_| DateError::OutOfRange(date.to_string()))?;
        let civil = Date::new(year, u8::from(date.month()) as i8, date.day() as i8)
            .map_err(|_| DateError::OutOfRange(date.to_string()))?;
        Self::new(civil)
    }

    /// The date for the courses table.
    pub fn to_stored(self) -> time::Date {
        let month = time::Month::try_from(self.0.month() as u8).unwrap_or(time::Month::January);
        time::Date::from_calendar_date(i32::from(self.0.year()), month, self.0.day() as u8)
            .unwrap_or(time::Date::MIN)
    }

    pub fn get(self) -> Date {
        self.0
    }
}

impl std::fmt::Display for CourseDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The instant if it falls on an accepted date (in UTC); else why not.
pub fn checked_instant(at: EpochMs) -> Result<EpochMs, DateError> {
    if (0..AFTER_LAST_MS).contains(&at.0) {
        Ok(at)
    } else {
        Err(DateError::OutOfRange(at.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_outside_1970_to_2100_are_refused_with_the_range() {
        assert_eq!(
            CourseDate::parse(" 2026-03-02 ").unwrap().get(),
            date(2026, 3, 2)
        );
        assert!(CourseDate::parse("1970-01-01").is_ok());
        assert!(CourseDate::parse("2100-12-31").is_ok());
        let late = CourseDate::parse("9999-12-31").unwrap_err();
        assert_eq!(
            late.to_string(),
            "9999-12-31 is outside the dates cloop accepts (1970-01-01 to 2100-12-31); check the year"
        );
        assert!(CourseDate::parse("1969-12-31").is_err());
        assert!(CourseDate::parse("0001-01-01").is_err());
        assert_eq!(
            CourseDate::parse("31/12/2026"),
            Err(DateError::NotADate("31/12/2026".into()))
        );
    }

    #[test]
    fn stored_dates_convert_both_ways_and_bad_ones_are_refused() {
        let d = CourseDate::parse("2026-03-02").unwrap();
        assert_eq!(CourseDate::from_stored(d.to_stored()), Ok(d));
        let bad = time::Date::from_calendar_date(9999, time::Month::December, 31).unwrap();
        assert!(CourseDate::from_stored(bad).is_err());
    }

    #[test]
    fn instants_follow_the_same_range() {
        let after = jiff::Timestamp::from_second(AFTER_LAST_MS / 1000).unwrap();
        assert_eq!(after.to_string(), "2101-01-01T00:00:00Z");
        assert!(checked_instant(EpochMs(0)).is_ok());
        assert!(checked_instant(EpochMs(AFTER_LAST_MS - 1)).is_ok());
        assert!(checked_instant(EpochMs(AFTER_LAST_MS)).is_err());
        assert!(checked_instant(EpochMs(-1)).is_err());
    }
}
