//! The timestamps of export files, read in a course's time zone (its [`CourseClock`]).

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub use crate::activity::CourseClock;
use crate::store::EpochMs;

/// Reads the timestamps of export files: ISO 8601 instants with an offset (or `Z`), and
/// `YYYY-MM-DD HH:MM:SS[.fff]` (or with `T`) local times read in the course's zone.
/// Offsets are cached per local minute, so millions of rows cost one zone lookup each.
pub struct TimestampReader {
    clock: CourseClock,
    offsets: std::collections::HashMap<i64, i64>,
}

impl TimestampReader {
    pub fn new(clock: CourseClock) -> Self {
        Self {
            clock,
            offsets: std::collections::HashMap::new(),
        }
    }

    pub fn clock(&self) -> &CourseClock {
        &self.clock
    }

    pub fn read(&mut self, text: &str) -> Result<EpochMs, String> {
        let text = text.trim();
        if let Some(local) = parse_local(text) {
            return self.local(local);
        }
        text.parse::<Timestamp>()
            .map(|ts| EpochMs(ts.as_millisecond()))
            .map_err(|_| {
                format!(
                    "timestamp {text:?} is neither ISO 8601 with an offset nor YYYY-MM-DD HH:MM:SS"
                )
            })
    }

    /// The instant of a local time given as milliseconds since 1970-01-01T00:00 local.
    pub fn local(&mut self, local_ms: i64) -> Result<EpochMs, String> {
        let minute = local_ms.div_euclid(60_000);
        let offset = match self.offsets.get(&minute) {
            Some(offset) => *offset,
            None => {
                let secs = minute * 60;
                let civil = Timestamp::from_second(secs)
                    .map_err(|e| e.to_string())?
                    .to_zoned_datetime(TimeZone::UTC)
                    .datetime();
                let instant = self.clock.instant_of(civil).ok_or_else(|| {
                    format!("local time {civil} does not exist in the course's zone")
                })?;
                let offset = secs * 1000 - instant.0;
                if self.offsets.len() > 1_000_000 {
                    self.offsets.clear();
                }
                self.offsets.insert(minute, offset);
                offset
            }
        };
        Ok(EpochMs(local_ms - offset))
    }
}

/// `YYYY-MM-DD[ T]HH:MM:SS[.fff]` with no offset, as milliseconds since 1970-01-01T00:00
/// of the same wall clock; `None` for anything else (including text with an offset).
pub fn parse_local(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let mut n = 0i64;
        for &c in &b[range] {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut millis = 0;
    if b.len() > 19 {
        if b[19] != b'.' || b.len() == 20 {
            return None;
        }
        let digits = &b[20..];
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for (i, c) in digits.iter().take(3).enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
    }
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let date = jiff::civil::Date::new(year as i16, month as i8, day as i8).ok()?;
    let days = i64::from(date.since(jiff::civil::date(1970, 1, 1)).ok()?.get_days());
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_timestamps_read_in_the_course_zone_or_with_their_offset() {
        let mut reader = TimestampReader::new(CourseClock::new("Australia/Melbourne").unwrap());
        assert_eq!(
            reader.read("2024-03-04 23:30:00").unwrap(),
            EpochMs(1_709_555_400_000)
        );
        assert_eq!(
            reader.read("2024-03-04 23:30:00.250").unwrap(),
            EpochMs(1_709_555_400_250)
        );
        assert_eq!(
            reader.read("2024-03-04T12:30:00Z").unwrap(),
            EpochMs(1_709_555_400_000)
        );
        assert_eq!(
            reader.read("2024-03-04T23:30:00+11:00").unwrap(),
            EpochMs(1_709_555_400_000)
        );
        // Winter: UTC+10.
        assert_eq!(
            reader.read("2024-07-01 10:00:00").unwrap(),
            EpochMs(1_719_792_000_000)
        );
        assert!(reader.read("04/03/2024 23:30").is_err());
    }

    #[test]
    fn extreme_instants_and_local_times_do_not_panic() {
        let clock = CourseClock::new("Pacific/Kiritimati").unwrap();
        let _ = clock.day_of(EpochMs(i64::MAX));
        let _ = clock.day_of(EpochMs(i64::MIN));
        let mut reader = TimestampReader::new(clock);
        assert!(reader.read("9999-12-31 23:59:59").is_err());
        assert!(reader.read("0000-01-01 00:00:00").is_ok());
        assert!(reader.local(i64::MAX).is_err());
        assert!(reader.local(i64::MIN).is_err());
    }
}
