//! What staff type into the event forms, checked against the course calendar and turned
//! into stored fields, with messages that say what to change.

use serde::Deserialize;

use super::calendar::{Calendar, WEEKDAYS};
use super::date::CourseDate;
use crate::store::EpochMs;
use crate::store::course_events::{CourseEventFields, CourseEventRow};

/// The three kinds of course event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Single,
    Repeating,
    Submission,
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [Self::Single, Self::Submission, Self::Repeating];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Repeating => "repeating",
            Self::Submission => "submission",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Single => "Single event",
            Self::Repeating => "Repeating event",
            Self::Submission => "Submission",
        }
    }
}

const MAX_TITLE: usize = 200;

/// The event form as posted (every field text, as browsers send it).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventForm {
    pub kind: String,
    pub title: String,
    /// Single event: local date-time `YYYY-MM-DDTHH:MM`.
    pub at: String,
    /// Submission window, local date-times.
    pub opens: String,
    pub due: String,
    pub submission_type: String,
    /// Repeating event: weekday 0 = Monday … 6 = Sunday, `HH:MM`, weeks.
    pub weekday: String,
    pub time: String,
    pub first_week: String,
    pub last_week: String,
}

impl EventForm {
    /// The form pre-filled from a stored event (for editing).
    pub fn from_row(row: &CourseEventRow, cal: &Calendar) -> Self {
        let local = |t: Option<EpochMs>| t.map(|t| cal.input_value(t)).unwrap_or_default();
        Self {
            kind: row.kind.clone(),
            title: row.title.clone(),
            at: local(row.starts_at),
            opens: local(row.starts_at),
            due: local(row.ends_at),
            submission_type: row.submission_type.clone().unwrap_or_default(),
            weekday: row.weekday.map(|w| w.to_string()).unwrap_or_default(),
            time: row
                .minute_of_day
                .map(|m| format!("{:02}:{:02}", m / 60, m % 60))
                .unwrap_or_default(),
            first_week: row.first_week.map(|w| w.to_string()).unwrap_or_default(),
            last_week: row.last_week.map(|w| w.to_string()).unwrap_or_default(),
        }
    }

    /// Checks the form against the course calendar: the stored fields, or every problem.
    pub fn validate(&self, cal: &Calendar) -> Result<CourseEventFields, Vec<String>> {
        let mut problems = Vec::new();
        let title = self.title.trim().to_string();
        if title.is_empty() {
            problems.push("Give the event a title.".to_string());
        } else if title.chars().count() > MAX_TITLE {
            problems.push(format!("Keep the title under {MAX_TITLE} characters."));
        }
        let Some(kind) = EventKind::parse(&self.kind) else {
            problems.push("Choose single, submission or repeating as the kind of event.".into());
            return Err(problems);
        };
        let mut fields = CourseEventFields {
            kind: kind.as_str().into(),
            title,
            ..Default::default()
        };
        match kind {
            EventKind::Single => {
                fields.starts_at = within_course(cal, "The event time", &self.at, &mut problems);
            }
            EventKind::Submission => {
                let opens = within_course(cal, "The opening time", &self.opens, &mut problems);
                let due = within_course(cal, "The due time", &self.due, &mut problems);
                if let (Some(o), Some(d)) = (opens, due)
                    && o >= d
                {
                    problems.push("The submission must open before it is due.".into());
                }
                match self.submission_type.as_str() {
                    "assignment" | "quiz" => {
                        fields.submission_type = Some(self.submission_type.clone())
                    }
                    _ => problems.push("Choose assignment or quiz as the submission type.".into()),
                }
                fields.starts_at = opens;
                fields.ends_at = due;
            }
            EventKind::Repeating => {
                match self.weekday.trim().parse::<i64>() {
                    Ok(w) if (0..7).contains(&w) => fields.weekday = Some(w),
                    _ => problems.push(format!("Choose a weekday ({}).", WEEKDAYS.join(", "))),
                }
                match parse_time(&self.time) {
                    Some(m) => fields.minute_of_day = Some(m),
                    None => problems.push("Give the time as HH:MM, e.g. 10:00.".into()),
                }
                let week = |text: &str, which: &str, problems: &mut Vec<String>| match text
                    .trim()
                    .parse::<i64>(
                ) {
                    Ok(w) if (1..=cal.weeks).contains(&w) => Some(w),
                    _ => {
                        problems.push(format!(
                            "The {which} week must be a number from 1 to {} (the course has {} weeks).",
                            cal.weeks, cal.weeks
                        ));
                        None
                    }
                };
                fields.first_week = week(&self.first_week, "first", &mut problems);
                fields.last_week = week(&self.last_week, "last", &mut problems);
                if let (Some(f), Some(l)) = (fields.first_week, fields.last_week)
                    && f > l
                {
                    problems.push("The first week must not be after the last week.".into());
                }
            }
        }
        if problems.is_empty() {
            Ok(fields)
        } else {
            Err(problems)
        }
    }
}

fn parse_time(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// Parses a local date-time and checks it lies within the course dates.
fn within_course(
    cal: &Calendar,
    what: &str,
    text: &str,
    problems: &mut Vec<String>,
) -> Option<EpochMs> {
    let Ok(dt) = text.trim().parse::<jiff::civil::DateTime>() else {
        problems.push(format!(
            "{what} is missing or not a date and time (YYYY-MM-DD HH:MM)."
        ));
        return None;
    };
    if let Err(e) = CourseDate::new(dt.date()) {
        problems.push(format!("{what}: {e}."));
        return None;
    }
    let t = cal.instant(
        dt.date(),
        i64::from(dt.hour()) * 60 + i64::from(dt.minute()),
    );
    let (first, after) = cal.bounds();
    let last_day = Calendar::date_of(cal.end_day() - 1);
    if t < first || t >= after {
        problems.push(format!(
            "{what} ({}) is outside the course dates: {} to {} ({} weeks, {}). \
             Pick a time inside them, or change the course dates in Settings.",
            dt.strftime("%Y-%m-%d %H:%M"),
            cal.start,
            last_day,
            cal.weeks,
            cal.tz_name
        ));
        return None;
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn cal() -> Calendar {
        Calendar::new(
            CourseDate::new(date(2026, 3, 2)).unwrap(),
            12,
            "Australia/Melbourne",
        )
        .unwrap()
    }

    #[test]
    fn times_outside_the_accepted_years_are_refused_with_the_range() {
        for at in [
            "9999-12-31T23:59",
            "0001-01-01T00:00",
            "-009999-01-01T00:00",
        ] {
            let form = EventForm {
                kind: "single".into(),
                title: "Exam".into(),
                at: at.into(),
                ..Default::default()
            };
            let problems = form.validate(&cal()).unwrap_err();
            assert!(
                problems[0].contains("1970-01-01 to 2100-12-31"),
                "{at}: {problems:?}"
            );
        }
    }

    #[test]
    fn single_event_outside_the_course_is_refused_with_the_dates() {
        let form = EventForm {
            kind: "single".into(),
            title: "Exam".into(),
            at: "2026-07-01T09:00".into(),
            ..Default::default()
        };
        let problems = form.validate(&cal()).unwrap_err();
        assert!(problems[0].contains("outside the course dates: 2026-03-02 to 2026-05-24"));
    }

    #[test]
    fn repeating_event_checks_weeks_weekday_and_time() {
        let mut form = EventForm {
            kind: "repeating".into(),
            title: "Lecture".into(),
            weekday: "2".into(),
            time: "10:00".into(),
            first_week: "1".into(),
            last_week: "12".into(),
            ..Default::default()
        };
        let fields = form.validate(&cal()).unwrap();
        assert_eq!(fields.minute_of_day, Some(600));
        form.last_week = "13".into();
        form.time = "25:00".into();
        assert_eq!(form.validate(&cal()).unwrap_err().len(), 2);
    }

    #[test]
    fn submission_must_open_before_it_is_due() {
        let form = EventForm {
            kind: "submission".into(),
            title: "Essay".into(),
            opens: "2026-03-20T09:00".into(),
            due: "2026-03-10T17:00".into(),
            submission_type: "assignment".into(),
            ..Default::default()
        };
        assert_eq!(
            form.validate(&cal()).unwrap_err(),
            vec!["The submission must open before it is due.".to_string()]
        );
    }
}
