//! Expansion of stored events into the concrete instants drawn on charts.

use super::calendar::Calendar;
use super::form::EventKind;
use crate::store::course_events::CourseEventRow;
use crate::store::{CourseEventId, EpochMs};

/// One drawn occurrence: a single event, a submission window (`at` opens, `until` is due)
/// or one week's instance of a repeating event.
#[derive(Clone, Debug, PartialEq)]
pub struct Occurrence {
    pub event: CourseEventId,
    pub kind: EventKind,
    pub title: String,
    pub at: EpochMs,
    pub until: Option<EpochMs>,
    /// For repeating events: the teaching week of this occurrence.
    pub week: Option<i64>,
}

/// The visible events as occurrences in time order; hidden events are left out.
pub fn expand(events: &[CourseEventRow], cal: &Calendar) -> Vec<Occurrence> {
    let mut out = Vec::new();
    for e in events.iter().filter(|e| !e.hidden) {
        let Some(kind) = EventKind::parse(&e.kind) else {
            continue;
        };
        let base = |at: EpochMs, until: Option<EpochMs>, week: Option<i64>| Occurrence {
            event: e.id,
            kind,
            title: e.title.clone(),
            at,
            until,
            week,
        };
        match kind {
            EventKind::Single => out.extend(e.starts_at.map(|t| base(t, None, None))),
            EventKind::Submission => {
                if let Some(t) = e.starts_at.or(e.ends_at) {
                    out.push(base(t, e.ends_at, None));
                }
            }
            EventKind::Repeating => {
                let (Some(wd), Some(min)) = (e.weekday, e.minute_of_day) else {
                    continue;
                };
                let first = e.first_week.unwrap_or(1).max(1);
                let last = e.last_week.unwrap_or(cal.weeks).min(cal.weeks);
                for week in first..=last {
                    let at = cal.instant(cal.weekday_in_week(week, wd), min);
                    out.push(base(at, None, Some(week)));
                }
            }
        }
    }
    out.sort_by_key(|o| o.at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CourseId;
    use jiff::civil::date;

    #[test]
    fn repeating_events_expand_to_local_times_across_daylight_saving() {
        // Melbourne leaves daylight saving on 2026-04-05: 10:00 local is 23:00 UTC before,
        // 00:00 UTC after.
        let start = crate::events::CourseDate::new(date(2026, 3, 2)).unwrap();
        let cal = Calendar::new(start, 12, "Australia/Melbourne").unwrap();
        let row = CourseEventRow {
            id: CourseEventId(1),
            course_id: CourseId(1),
            kind: "repeating".into(),
            source: "manual".into(),
            title: "Lecture".into(),
            starts_at: None,
            ends_at: None,
            weekday: Some(2),
            minute_of_day: Some(600),
            first_week: Some(1),
            last_week: Some(12),
            submission_type: None,
            hidden: false,
        };
        let occ = expand(std::slice::from_ref(&row), &cal);
        assert_eq!(occ.len(), 12);
        assert_eq!(cal.format(occ[0].at), "Wed 2026-03-04 10:00");
        assert_eq!(cal.format(occ[11].at), "Wed 2026-05-20 10:00");
        assert_eq!(occ[0].at.0 % 86_400_000, 23 * 3_600_000);
        assert_eq!(occ[11].at.0 % 86_400_000, 0);
        let hidden = CourseEventRow {
            hidden: true,
            ..row.clone()
        };
        assert!(expand(&[hidden], &cal).is_empty());
        // Values written before the forms checked them expand within the course, unpanicked.
        let absurd = CourseEventRow {
            hidden: false,
            weekday: Some(i64::MAX),
            minute_of_day: Some(-5),
            first_week: Some(i64::MIN),
            last_week: Some(i64::MAX),
            ..row
        };
        assert_eq!(expand(&[absurd], &cal).len(), 12);
    }
}
