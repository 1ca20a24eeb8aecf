//! The original Loop export: a zip of pipe-delimited files. Activity comes from
//! `activity.txt` (`user_key|content_key|forum_key|timestamp`, keys being Learn pk1s,
//! times local to the course); the other files describe resources and users, which the
//! REST sync and launches bring in cloop, so only the activity is read.

use std::io::{BufRead, Read};
use std::path::Path;

use super::clock::TimestampReader;
use super::import::{ImportError, RepeatCounter, RowSource, learn_id};
use super::{ActivityKind, ActivitySource, ContentRef, CourseRef, ItemGroup, LmsEvent, hashed_key};

/// Copies `activity.txt` out of the zip into a temporary file, streamed.
pub fn extract_activity(zip_path: &Path) -> Result<tempfile::NamedTempFile, ImportError> {
    let io_error = |source| ImportError::Io {
        path: zip_path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(zip_path).map_err(io_error)?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        ImportError::Unreadable(format!("{} is not a zip file: {e}", zip_path.display()))
    })?;
    let index = (0..archive.len())
        .find(|i| {
            archive.name_for_index(*i).and_then(Result::ok).is_some_and(|name| {
                name.rsplit('/').next().is_some_and(|f| f.eq_ignore_ascii_case("activity.txt"))
            })
        })
        .ok_or_else(|| {
            ImportError::Unreadable(format!(
                "{} has no activity.txt: a Loop export zip holds activity.txt, resources.txt, users.txt, …",
                zip_path.display()
            ))
        })?;
    let mut entry = archive
        .by_index(index)
        .map_err(|e| ImportError::Unreadable(format!("activity.txt cannot be read: {e}")))?;
    let mut out = tempfile::NamedTempFile::new().map_err(io_error)?;
    std::io::copy(&mut entry, &mut out).map_err(io_error)?;
    Ok(out)
}

/// Rows of a Loop `activity.txt`.
pub struct LoopRows<R: Read> {
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    times: TimestampReader,
    /// Column positions of user, content, forum and timestamp.
    columns: [usize; 4],
    first: Option<csv::StringRecord>,
    repeats: RepeatCounter,
}

impl<R: BufRead> LoopRows<R> {
    pub fn new(input: R, times: TimestampReader) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b'|')
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut first = csv::StringRecord::new();
        if !reader.read_record(&mut first).map_err(|e| e.to_string())? {
            return Err("activity.txt is empty".into());
        }
        let names: Vec<String> = first
            .iter()
            .map(|f| f.trim().to_ascii_lowercase())
            .collect();
        let (columns, first) = if names.iter().any(|n| n == "user_key") {
            let find = |name: &str| {
                names
                    .iter()
                    .position(|n| n == name)
                    .ok_or_else(|| format!("activity.txt's header has no {name} column"))
            };
            (
                [
                    find("user_key")?,
                    find("content_key")?,
                    find("forum_key")?,
                    find("timestamp")?,
                ],
                None,
            )
        } else {
            ([0, 1, 2, 3], Some(first))
        };
        Ok(Self {
            reader,
            record: csv::StringRecord::new(),
            times,
            columns,
            first,
            repeats: RepeatCounter::default(),
        })
    }
}

impl<R: Read> LoopRows<R> {
    fn map(&mut self, record: &csv::StringRecord) -> Result<LmsEvent, String> {
        let get = |i: usize| {
            record
                .get(i)
                .map(str::trim)
                .filter(|v| !v.is_empty() && *v != "0")
        };
        let [user, content, forum, time] = self.columns;
        let user = get(user).ok_or("user_key is empty")?.to_string();
        let time = get(time).ok_or("timestamp is empty")?.to_string();
        let content = match (get(content), get(forum)) {
            (Some(c), _) => ContentRef {
                lms_id: learn_id(c),
                group: ItemGroup::Content,
            },
            (None, Some(f)) => ContentRef {
                lms_id: format!("forum-{}", learn_id(f)),
                group: ItemGroup::Communication,
            },
            (None, None) => return Err("neither content_key nor forum_key is set".into()),
        };
        let key = hashed_key("loop", &[&user, &content.lms_id, &time]);
        let idempotency_key = self.repeats.next(&time, key);
        Ok(LmsEvent {
            course: CourseRef::default(),
            user_pk: Some(learn_id(&user)),
            content: Some(content),
            kind: ActivityKind::View,
            occurred_at: self.times.read(&time)?,
            source: ActivitySource::Loop,
            idempotency_key,
            session_ref: None,
        })
    }
}

impl<R: Read> RowSource for LoopRows<R> {
    fn next_row(&mut self) -> Option<(u64, Result<LmsEvent, String>)> {
        if let Some(first) = self.first.take() {
            return Some((1, self.map(&first)));
        }
        let mut record = std::mem::take(&mut self.record);
        let row = match self.reader.read_record(&mut record) {
            Ok(false) => None,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                Some((line, self.map(&record)))
            }
            Err(e) => Some((
                e.position().map_or(0, |p| p.line()),
                Err(format!("unreadable row: {e}")),
            )),
        };
        self.record = record;
        row
    }
}
