//! Moodle's standard log ("Logs" report, downloaded as CSV): `Time, User full name,
//! Affected user, Event context, Component, Event name, Description, Origin, IP address`.
//! Ids come from the description ("The user with id '5' viewed the course module with id
//! '12' …"); times are minutes in the course's time zone.

use std::io::{BufRead, Read};

use super::clock::{TimestampReader, parse_local};
use super::import::{RepeatCounter, RowSource};
use super::{ActivityKind, ActivitySource, ContentRef, CourseRef, ItemGroup, LmsEvent, hashed_key};

/// Time formats of Moodle's log download, by language pack.
const TIME_FORMATS: &[&str] = &[
    "%d/%m/%y, %H:%M",
    "%d/%m/%Y, %H:%M",
    "%d/%m/%y, %H:%M:%S",
    "%A, %d %B %Y, %I:%M %p",
    "%d %B %Y, %I:%M %p",
    "%d %b %Y, %H:%M",
];

pub fn kind_of_event_name(name: &str) -> Option<ActivityKind> {
    let n = name.to_ascii_lowercase();
    Some(if n.contains("viewed") {
        ActivityKind::View
    } else if n.contains("logged in") {
        ActivityKind::Login
    } else if n.contains("logged out") {
        ActivityKind::Logout
    } else if n.contains("post created")
        || n.contains("discussion created")
        || n.contains("comment created")
    {
        ActivityKind::Post
    } else if n.contains("attempt started") {
        ActivityKind::Attempt
    } else if n.contains("submitted") || n.contains("submission created") {
        ActivityKind::Submission
    } else if n.contains("graded") || n.contains("grade") {
        ActivityKind::Grade
    } else {
        return None;
    })
}

fn group_of_component(component: &str) -> ItemGroup {
    match component.to_ascii_lowercase().as_str() {
        "forum" | "chat" | "wiki" | "glossary" => ItemGroup::Communication,
        "quiz" | "assignment" | "lesson" | "workshop" | "feedback" | "survey" | "scorm package" => {
            ItemGroup::Assessment
        }
        _ => ItemGroup::Content,
    }
}

/// The id quoted after `marker` in a description: `with id '12'` → `12`.
fn quoted_id_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(marker)?;
    let rest = rest.trim_start().strip_prefix('\'')?;
    let id = rest.split('\'').next()?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

pub struct MoodleLogRows<R: Read> {
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    times: TimestampReader,
    /// Time, component, event name, description.
    columns: [usize; 4],
    repeats: RepeatCounter,
}

impl<R: BufRead> MoodleLogRows<R> {
    pub fn new(input: R, times: TimestampReader) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let headers = reader.headers().map_err(|e| e.to_string())?.clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let find = |name: &str| {
            names.iter().position(|n| n == name).ok_or_else(|| {
                format!(
                    "the header row has no {name:?} column (found: {}); download the log as CSV from Reports → Logs",
                    names.join(", ")
                )
            })
        };
        Ok(Self {
            columns: [
                find("time")?,
                find("component")?,
                find("event name")?,
                find("description")?,
            ],
            reader,
            record: csv::StringRecord::new(),
            times,
            repeats: RepeatCounter::default(),
        })
    }
}

impl<R: Read> MoodleLogRows<R> {
    fn local_ms(text: &str) -> Option<i64> {
        if let Some(ms) = parse_local(text) {
            return Some(ms);
        }
        TIME_FORMATS.iter().find_map(|format| {
            let dt = jiff::civil::DateTime::strptime(format, text).ok()?;
            let days = i64::from(
                dt.date()
                    .since(jiff::civil::date(1970, 1, 1))
                    .ok()?
                    .get_days(),
            );
            Some(
                ((days * 24 + i64::from(dt.hour())) * 60 + i64::from(dt.minute())) * 60_000
                    + i64::from(dt.second()) * 1000,
            )
        })
    }

    fn map(&mut self, record: &csv::StringRecord) -> Result<LmsEvent, String> {
        let [time_col, component_col, name_col, description_col] = self.columns;
        let get = |i: usize| record.get(i).map(str::trim).unwrap_or("");
        let (time, component, name, description) = (
            get(time_col),
            get(component_col),
            get(name_col),
            get(description_col),
        );
        let kind = kind_of_event_name(name)
            .ok_or_else(|| format!("event {name:?} is not activity cloop records"))?;
        let user = quoted_id_after(description, "user with id")
            .ok_or("the description names no user (\"The user with id '…'\")")?;
        let module = quoted_id_after(description, "course module with id")
            .or_else(|| quoted_id_after(description, "course module id"));
        let local =
            Self::local_ms(time).ok_or_else(|| format!("time {time:?} is not a date and time"))?;
        let key = hashed_key("moodle", &[time, name, description]);
        let idempotency_key = self.repeats.next(time, key);
        Ok(LmsEvent {
            course: CourseRef::default(),
            user_pk: Some(user.to_string()),
            content: module.map(|id| ContentRef {
                lms_id: id.to_string(),
                group: group_of_component(component),
            }),
            kind,
            occurred_at: self.times.local(local)?,
            source: ActivitySource::MoodleLog,
            idempotency_key,
            session_ref: None,
        })
    }
}

impl<R: Read> RowSource for MoodleLogRows<R> {
    fn next_row(&mut self) -> Option<(u64, Result<LmsEvent, String>)> {
        let mut record = std::mem::take(&mut self.record);
        let row = match self.reader.read_record(&mut record) {
            Ok(false) => None,
            Ok(true) => Some((record.position().map_or(0, |p| p.line()), self.map(&record))),
            Err(e) => Some((
                e.position().map_or(0, |p| p.line()),
                Err(format!("unreadable row: {e}")),
            )),
        };
        self.record = record;
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_give_user_and_module_ids() {
        let d =
            "The user with id '5' viewed the course module with id '12' for the 'page' activity.";
        assert_eq!(quoted_id_after(d, "user with id"), Some("5"));
        assert_eq!(quoted_id_after(d, "course module with id"), Some("12"));
    }

    #[test]
    fn moodle_times_are_read() {
        assert!(MoodleLogRows::<&[u8]>::local_ms("4/03/24, 23:30").is_some());
        assert_eq!(
            MoodleLogRows::<&[u8]>::local_ms("04/03/24, 23:30"),
            parse_local("2024-03-04 23:30:00")
        );
    }
}
