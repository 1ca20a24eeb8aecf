//! Blackboard's activity accumulator export: a header row naming its columns (any order,
//! any case), comma-, pipe- or tab-delimited; users and content named by `pk1`.

use std::io::BufRead;

use super::clock::TimestampReader;
use super::import::{RowSource, learn_id};
use super::{ActivityKind, ActivitySource, ContentRef, CourseRef, ItemGroup, LmsEvent, hashed_key};

/// The columns cloop reads; `timestamp`, `event_type` and `user_pk1` are required.
const REQUIRED: [&str; 3] = ["timestamp", "event_type", "user_pk1"];

struct Columns {
    timestamp: usize,
    event_type: usize,
    user: usize,
    pk1: Option<usize>,
    course: Option<usize>,
    content: Option<usize>,
    forum: Option<usize>,
    session: Option<usize>,
    data: Option<usize>,
}

/// Picks the delimiter of a header line: the most frequent of `|`, tab and `,`.
pub fn detect_delimiter(header: &str) -> u8 {
    [b'|', b'\t', b',']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

/// Maps an accumulator `event_type` to cloop's kind.
pub fn kind_of_event_type(event_type: &str) -> Option<ActivityKind> {
    let t = event_type.trim().to_ascii_uppercase();
    Some(match t.as_str() {
        "LOGIN_ATTEMPT" | "SESSION_INIT" | "LOGIN" => ActivityKind::Login,
        "LOGOUT" | "SESSION_TIMEOUT" => ActivityKind::Logout,
        t if t.ends_with("_ACCESS") => ActivityKind::View,
        t if t.ends_with("_SUBMIT") || t.ends_with("_SUBMISSION") => ActivityKind::Submission,
        t if t.starts_with("DISCUSSION_") || t.ends_with("_POST") || t.ends_with("_RESPONSE") => {
            ActivityKind::Post
        }
        t if t.ends_with("_ATTEMPT") || t.ends_with("_START") => ActivityKind::Attempt,
        t if t.ends_with("_GRADE") || t.ends_with("_GRADED") => ActivityKind::Grade,
        _ => return None,
    })
}

/// Rows of an accumulator file for one course (`course_pk` is its Learn `_N_1` id, if
/// known: rows of other courses are rejected).
pub struct AccumulatorRows<R: BufRead> {
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    columns: Columns,
    times: TimestampReader,
    course_pk1: Option<String>,
    repeats: super::import::RepeatCounter,
}

impl<R: BufRead> AccumulatorRows<R> {
    /// Reads the header (the first line) and sets up the row reader.
    pub fn new(
        mut input: R,
        times: TimestampReader,
        course_pk: Option<&str>,
    ) -> Result<Self, String> {
        let mut header = String::new();
        input
            .read_line(&mut header)
            .map_err(|e| format!("cannot read the header line: {e}"))?;
        let header = header.trim_start_matches('\u{feff}').trim_end().to_string();
        if header.is_empty() {
            return Err("the file is empty: an accumulator export starts with a header row".into());
        }
        let delimiter = detect_delimiter(&header);
        let names: Vec<String> = header
            .split(delimiter as char)
            .map(|n| n.trim().trim_matches('"').to_ascii_lowercase())
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        if let Some(missing) = REQUIRED.iter().find(|n| find(n).is_none()) {
            return Err(format!(
                "the header row has no {missing} column (found: {}); an accumulator export \
                 needs timestamp, event_type and user_pk1",
                names.join(", ")
            ));
        }
        let columns = Columns {
            timestamp: find("timestamp").unwrap_or_default(),
            event_type: find("event_type").unwrap_or_default(),
            user: find("user_pk1").unwrap_or_default(),
            pk1: find("pk1"),
            course: find("course_pk1"),
            content: find("content_pk1"),
            forum: find("forum_pk1"),
            session: find("session_id"),
            data: find("data"),
        };
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        Ok(Self {
            reader,
            record: csv::ByteRecord::new(),
            columns,
            times,
            course_pk1: course_pk.and_then(pk1_of).map(str::to_string),
            repeats: super::import::RepeatCounter::default(),
        })
    }

    fn field(&self, index: Option<usize>) -> Option<&str> {
        let raw = self.record.get(index?)?;
        let text = std::str::from_utf8(raw).ok()?.trim();
        (!text.is_empty() && !text.eq_ignore_ascii_case("null")).then_some(text)
    }

    fn map_row(&mut self) -> Result<LmsEvent, String> {
        let c = &self.columns;
        let (ts_col, type_col, user_col) = (c.timestamp, c.event_type, c.user);
        let (pk1_col, course_col, content_col, forum_col, session_col, data_col) =
            (c.pk1, c.course, c.content, c.forum, c.session, c.data);
        let event_type = self.field(Some(type_col)).ok_or("event_type is empty")?;
        let kind = kind_of_event_type(event_type)
            .ok_or_else(|| format!("event_type {event_type} is not activity cloop records"))?;
        if let (Some(expected), Some(row_course)) = (&self.course_pk1, self.field(course_col)) {
            let row_course = pk1_of(row_course).unwrap_or(row_course);
            if row_course != expected {
                return Err(format!(
                    "course_pk1 {row_course} is another course (this course is pk1 {expected})"
                ));
            }
        }
        if course_col.is_some() && self.field(course_col).is_none() && kind == ActivityKind::View {
            return Err(format!(
                "{event_type} outside any course (course_pk1 is empty)"
            ));
        }
        let time_text = self
            .field(Some(ts_col))
            .ok_or("timestamp is empty")?
            .to_string();
        let user = self.field(Some(user_col)).map(learn_id);
        let content = match (self.field(content_col), self.field(forum_col)) {
            (Some(content), _) => Some(ContentRef {
                lms_id: learn_id(content),
                group: match kind {
                    ActivityKind::Attempt | ActivityKind::Submission | ActivityKind::Grade => {
                        ItemGroup::Assessment
                    }
                    ActivityKind::Post => ItemGroup::Communication,
                    _ => ItemGroup::Content,
                },
            }),
            (None, Some(forum)) => Some(ContentRef {
                lms_id: format!("forum-{}", learn_id(forum)),
                group: ItemGroup::Communication,
            }),
            (None, None) => None,
        };
        let session_ref = self.field(session_col).map(str::to_string);
        let idempotency_key = match self.field(pk1_col) {
            Some(pk1) => format!("acc:{pk1}"),
            None => {
                let fields = [
                    time_text.as_str(),
                    event_type,
                    user.as_deref().unwrap_or(""),
                    content.as_ref().map_or("", |c| c.lms_id.as_str()),
                    session_ref.as_deref().unwrap_or(""),
                    self.field(data_col).unwrap_or(""),
                ];
                let key = hashed_key("acc", &fields);
                self.repeats.next(&time_text, key)
            }
        };
        let occurred_at = self.times.read(&time_text)?;
        Ok(LmsEvent {
            course: CourseRef::default(),
            user_pk: user,
            content,
            kind,
            occurred_at,
            source: ActivitySource::BbAccumulator,
            idempotency_key,
            session_ref,
        })
    }
}

impl<R: BufRead> RowSource for AccumulatorRows<R> {
    fn next_row(&mut self) -> Option<(u64, Result<LmsEvent, String>)> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {
                    // +1: the header line was consumed before the csv reader started.
                    let line = self.record.position().map_or(0, |p| p.line()) + 1;
                    if self.record.len() == 1 && self.record.get(0).is_some_and(<[u8]>::is_empty) {
                        continue;
                    }
                    return Some((line, self.map_row()));
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line()) + 1;
                    return Some((line, Err(format!("unreadable row: {e}"))));
                }
            }
        }
    }
}

/// The numeric part of a Learn id (`_123_1` → `123`; `123` stays `123`).
pub fn pk1_of(id: &str) -> Option<&str> {
    let inner = id
        .strip_prefix('_')
        .map_or(id, |rest| rest.split('_').next().unwrap_or(rest));
    (!inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit())).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_detected() {
        assert_eq!(detect_delimiter("pk1|timestamp|event_type"), b'|');
        assert_eq!(detect_delimiter("PK1,TIMESTAMP,EVENT_TYPE"), b',');
        assert_eq!(detect_delimiter("pk1\ttimestamp"), b'\t');
    }

    #[test]
    fn event_types_map_to_kinds() {
        assert_eq!(
            kind_of_event_type("CONTENT_ACCESS"),
            Some(ActivityKind::View)
        );
        assert_eq!(
            kind_of_event_type("course_access"),
            Some(ActivityKind::View)
        );
        assert_eq!(
            kind_of_event_type("LOGIN_ATTEMPT"),
            Some(ActivityKind::Login)
        );
        assert_eq!(
            kind_of_event_type("ASSESSMENT_SUBMIT"),
            Some(ActivityKind::Submission)
        );
        assert_eq!(
            kind_of_event_type("DISCUSSION_RESPONSE"),
            Some(ActivityKind::Post)
        );
        assert_eq!(
            kind_of_event_type("ASSESSMENT_ATTEMPT"),
            Some(ActivityKind::Attempt)
        );
        assert_eq!(kind_of_event_type("SYSTEM_ADMIN"), None);
    }

    #[test]
    fn pk1_is_the_numeric_part_of_a_learn_id() {
        assert_eq!(pk1_of("_123_1"), Some("123"));
        assert_eq!(pk1_of("123"), Some("123"));
        assert_eq!(pk1_of("abc"), None);
    }
}
