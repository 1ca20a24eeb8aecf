//! Moodle's standard log ("Logs" report, downloaded as CSV): `Time, User full name,
//! Affected user, Event context, Component, Event name, Description, Origin, IP address`.
//! Ids come from the description ("The user with id '5' viewed the course module with id
//! '12' …"), or, where a download hides them, from the user's full name and the event's
//! context; times are minutes in the course's time zone, with or without a year.

use std::io::{BufRead, Read};

use jiff::civil::DateTime;
use jiff::fmt::strtime::BrokenDownTime;

use super::clock::{TimestampReader, parse_local};
use super::import::{RepeatCounter, RowSource};
use super::{ActivityKind, ActivitySource, ContentRef, CourseRef, ItemGroup, LmsEvent, hashed_key};

mod context;

pub use context::MoodleContext;

/// Time formats of Moodle's log download, by language pack.
const TIME_FORMATS: &[&str] = &[
    "%d/%m/%y, %H:%M",
    "%d/%m/%Y, %H:%M",
    "%d/%m/%y, %H:%M:%S",
    "%A, %d %B %Y, %I:%M %p",
    "%d %B %Y, %I:%M %p",
    "%d %b %Y, %H:%M",
];

/// Time formats with no year ("11 May, 09:44"): the year comes from `--year` or the
/// course's dates.
const YEARLESS_FORMATS: &[&str] = &[
    "%d %B, %H:%M",
    "%d %b, %H:%M",
    "%d %B, %H:%M:%S",
    "%d %B, %I:%M %p",
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

/// The text quoted after `marker` in a description: `with id '12'` → `12`.
fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(marker)?;
    let rest = rest.trim_start().strip_prefix('\'')?;
    rest.split('\'').next()
}

/// Whether a quoted id is one (a download that hides ids writes `'x'` or `'-1'`).
fn is_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

/// Where a row names its user and item: by id, or (ids hidden) by name.
enum Named<'a> {
    Id(&'a str),
    Hidden,
    Absent,
}

fn named<'a>(description: &'a str, markers: &[&str]) -> Named<'a> {
    match markers.iter().find_map(|m| quoted_after(description, m)) {
        Some(id) if is_id(id) => Named::Id(id),
        Some(_) => Named::Hidden,
        None => Named::Absent,
    }
}

pub struct MoodleLogRows<R: Read> {
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    times: TimestampReader,
    /// Time, component, event name, description.
    columns: [usize; 4],
    /// User full name and event context, where the file has them.
    name_columns: (Option<usize>, Option<usize>),
    context: MoodleContext,
    repeats: RepeatCounter,
    /// Rows whose ids were hidden, matched by name instead.
    matched_by_name: u64,
    /// Rows whose time had no year.
    yearless: u64,
}

impl<R: BufRead> MoodleLogRows<R> {
    pub fn new(input: R, times: TimestampReader, context: MoodleContext) -> Result<Self, String> {
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
        let optional = |name: &str| names.iter().position(|n| n == name);
        Ok(Self {
            columns: [
                find("time")?,
                find("component")?,
                find("event name")?,
                find("description")?,
            ],
            name_columns: (optional("user full name"), optional("event context")),
            context,
            reader,
            record: csv::StringRecord::new(),
            times,
            repeats: RepeatCounter::default(),
            matched_by_name: 0,
            yearless: 0,
        })
    }
}

/// Milliseconds of a civil date and time since 1970-01-01 00:00 of the same calendar.
fn local_ms_of(dt: DateTime) -> Option<i64> {
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
}

impl<R: Read> MoodleLogRows<R> {
    /// The local time of a row's `Time`, in any of Moodle's download formats.
    fn local_ms(&mut self, text: &str) -> Result<i64, String> {
        if let Some(ms) = parse_local(text) {
            return Ok(ms);
        }
        let full = TIME_FORMATS
            .iter()
            .find_map(|format| DateTime::strptime(format, text).ok());
        if let Some(ms) = full.and_then(local_ms_of) {
            return Ok(ms);
        }
        let not_a_time = || format!("time {text:?} is not a date and time");
        let mut yearless = YEARLESS_FORMATS
            .iter()
            .find_map(|format| BrokenDownTime::parse(format, text).ok())
            .ok_or_else(not_a_time)?;
        let (month, day) = (yearless.month().unwrap_or(1), yearless.day().unwrap_or(1));
        let year = self.context.year_of(month, day).ok_or_else(|| {
            format!(
                "time {text:?} has no year: give the year with --year, or set the course's start date"
            )
        })?;
        self.yearless += 1;
        yearless.set_year(Some(year)).map_err(|_| not_a_time())?;
        yearless
            .to_datetime()
            .ok()
            .and_then(local_ms_of)
            .ok_or_else(not_a_time)
    }

    /// The LMS key of the member a row's `User full name` names (the row's ids are hidden).
    fn member_named(&self, record: &csv::StringRecord) -> Result<String, String> {
        let column = self.name_columns.0.ok_or(
            "the description's ids are hidden and the file has no \"User full name\" column",
        )?;
        let name = record.get(column).map(str::trim).unwrap_or("");
        match self.context.people.get(&name.to_lowercase()) {
            Some(Some(key)) => Ok(key.clone()),
            Some(None) => Err(format!(
                "the description's ids are hidden and two members are named {name:?}"
            )),
            None => Err(format!(
                "the description's ids are hidden and no member of the course is named {name:?}"
            )),
        }
    }

    /// The item a row's `Event context` names ("File: Week 1 slides"): the course's item of
    /// that title, or a placeholder for the context.
    fn item_in_context(&self, record: &csv::StringRecord, component: &str) -> Option<ContentRef> {
        let context = record.get(self.name_columns.1?)?.trim();
        let (kind, title) = context.split_once(':')?;
        if kind.trim().eq_ignore_ascii_case("course") {
            return None;
        }
        let lms_id = match self.context.items.get(title.trim()) {
            Some(Some(lms_id)) => lms_id.clone(),
            _ => format!("context:{context}"),
        };
        Some(ContentRef {
            lms_id,
            group: group_of_component(component),
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
        let user_named = named(description, &["user with id"]);
        let hidden = matches!(user_named, Named::Hidden);
        let (user, content) = match user_named {
            Named::Id(user) => {
                let module =
                    match named(description, &["course module with id", "course module id"]) {
                        Named::Id(id) => Some(ContentRef {
                            lms_id: id.to_string(),
                            group: group_of_component(component),
                        }),
                        Named::Hidden => self.item_in_context(record, component),
                        Named::Absent => None,
                    };
                (user.to_string(), module)
            }
            Named::Hidden => {
                let user = self.member_named(record)?;
                self.matched_by_name += 1;
                (user, self.item_in_context(record, component))
            }
            Named::Absent => {
                return Err("the description names no user (\"The user with id '…'\")".into());
            }
        };
        let local = self.local_ms(time)?;
        // Rows that hide their ids differ only in who and where.
        let key = if hidden {
            let of = |column: Option<usize>| column.map_or("", get);
            let (who, context) = (of(self.name_columns.0), of(self.name_columns.1));
            hashed_key("moodle", &[time, name, description, who, context])
        } else {
            hashed_key("moodle", &[time, name, description])
        };
        let idempotency_key = self.repeats.next(time, key);
        Ok(LmsEvent {
            course: CourseRef::default(),
            user_pk: Some(user),
            content,
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

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.matched_by_name > 0 {
            notes.push(format!(
                "{} rows hide their ids (\"The user with id '…'\"): they were matched on the \"User full name\" and \"Event context\" columns instead",
                self.matched_by_name
            ));
        }
        if self.yearless > 0 {
            let from = match self.context.year {
                Some(year) => format!("--year ({year})"),
                None => "the course's dates".to_string(),
            };
            notes.push(format!(
                "{} rows' times have no year: the year was taken from {from}",
                self.yearless
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::CourseClock;

    const HEADER: &str = "Time,User full name,Affected user,Event context,Component,Event name,Description,Origin,IP address\n";

    fn rows(body: &str, context: MoodleContext) -> Vec<Result<LmsEvent, String>> {
        let input = format!("{HEADER}{body}");
        let times = TimestampReader::new(CourseClock::or_utc("UTC"));
        let mut rows = MoodleLogRows::new(input.as_bytes(), times, context).unwrap();
        std::iter::from_fn(|| rows.next_row().map(|(_, row)| row)).collect()
    }

    fn at(text: &str) -> i64 {
        parse_local(text).unwrap()
    }

    #[test]
    fn descriptions_give_user_and_module_ids() {
        let d =
            "The user with id '5' viewed the course module with id '12' for the 'page' activity.";
        assert!(matches!(named(d, &["user with id"]), Named::Id("5")));
        assert!(matches!(
            named(d, &["course module with id"]),
            Named::Id("12")
        ));
        let hidden = "The user with id 'x' viewed the course module with id 'x'.";
        assert!(matches!(named(hidden, &["user with id"]), Named::Hidden));
        assert!(matches!(
            named("Nothing here", &["user with id"]),
            Named::Absent
        ));
    }

    #[test]
    fn times_with_and_without_a_year_are_read() {
        let view = |time: &str| {
            format!(
                "\"{time}\",Ann Lee,-,File: Week 1,File,Course module viewed,\"The user with id '5' viewed the course module with id '12'.\",web,1.2.3.4\n"
            )
        };
        let body: String = [
            "04/03/24, 23:30",
            "4 March 2024, 11:30 PM",
            "4 March, 23:30",
        ]
        .map(view)
        .concat();
        let with_year = MoodleContext {
            year: Some(2024),
            ..MoodleContext::default()
        };
        for row in rows(&body, with_year) {
            assert_eq!(row.unwrap().occurred_at.0, at("2024-03-04 23:30:00"));
        }
        let unknown = rows(&body, MoodleContext::default());
        assert!(unknown[0].is_ok());
        let reason = unknown[2].as_ref().unwrap_err();
        assert!(
            reason.contains("has no year") && reason.contains("--year"),
            "{reason}"
        );
    }

    #[test]
    fn hidden_ids_are_matched_by_full_name_and_context() {
        let mut context = MoodleContext::default();
        context.add_person("Ann Lee", "_5_1".into());
        context.add_person("Bo Chen", "_6_1".into());
        context.add_person("bo chen", "_7_1".into());
        context
            .items
            .insert("Week 1 slides".into(), Some("_12_1".into()));
        let body = "\
\"11/05/24, 09:44\",Ann Lee,-,File: Week 1 slides,File,Course module viewed,\"The user with id 'x' viewed the course module with id 'x'.\",web,-
\"11/05/24, 09:44\",Ann Lee,-,Forum: Questions,Forum,Course module viewed,\"The user with id 'x' viewed the course module with id 'x'.\",web,-
\"11/05/24, 09:45\",Bo Chen,-,File: Week 1 slides,File,Course module viewed,\"The user with id 'x' viewed the course module with id 'x'.\",web,-
\"11/05/24, 09:46\",Cy Dee,-,Course: Biology,System,Course viewed,\"The user with id 'x' viewed the course with id 'x'.\",web,-
";
        let rows = rows(body, context);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.user_pk.as_deref(), Some("_5_1"));
        assert_eq!(first.content.as_ref().unwrap().lms_id, "_12_1");
        let second = rows[1].as_ref().unwrap();
        assert_eq!(
            second.content.as_ref().unwrap().lms_id,
            "context:Forum: Questions"
        );
        assert_eq!(
            second.content.as_ref().unwrap().group,
            ItemGroup::Communication
        );
        assert_ne!(first.idempotency_key, second.idempotency_key);
        assert!(
            rows[2]
                .as_ref()
                .unwrap_err()
                .contains("two members are named")
        );
        assert!(
            rows[3]
                .as_ref()
                .unwrap_err()
                .contains("no member of the course is named \"Cy Dee\"")
        );
    }
}
