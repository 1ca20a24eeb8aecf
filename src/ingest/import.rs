//! Bulk imports of activity files into one course: streamed row by row, recorded in large
//! batches (each one transaction with its rollups), with a report of every rejected row.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::accumulator::AccumulatorRows;
use super::clock::TimestampReader;
pub use super::import_report::{ImportOptions, ImportReport, summary};
use super::rejections::RejectionLog;
use super::{
    CourseClock, CourseLookup, EventWindow, IngestReport, LmsEvent, Recorder, Resolver, caliper,
    xapi,
};
use crate::activity::NewActivity;
use crate::store::{CourseId, Store, StoreError};

/// Events recorded per transaction.
pub const BATCH: usize = 50_000;

/// The file formats `cloop import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Format {
    BbAccumulator,
    Loop,
    MoodleLog,
    CaliperJsonl,
    XapiJsonl,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Self::BbAccumulator,
        Self::Loop,
        Self::MoodleLog,
        Self::CaliperJsonl,
        Self::XapiJsonl,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BbAccumulator => "bb-accumulator",
            Self::Loop => "loop",
            Self::MoodleLog => "moodle-log",
            Self::CaliperJsonl => "caliper-jsonl",
            Self::XapiJsonl => "xapi-jsonl",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::BbAccumulator => {
                "Blackboard activity accumulator export (CSV or pipe-delimited, with a header row)"
            }
            Self::Loop => "the original Loop export (zip of pipe-delimited files)",
            Self::MoodleLog => "Moodle standard log, downloaded as CSV",
            Self::CaliperJsonl => "Caliper events or envelopes, one JSON document per line",
            Self::XapiJsonl => "xAPI statements, one per line (Learning Locker exports too)",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown import format {s:?}; use one of: {}",
                    Self::ALL.map(Format::as_str).join(", ")
                )
            })
    }
}

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("nothing could be read: {0}")]
    Unreadable(String),
    #[error("cannot write the rejected rows: {0}")]
    Rejections(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A source of parsed rows: the line number and the event, or why the row is rejected.
pub trait RowSource {
    fn next_row(&mut self) -> Option<(u64, Result<LmsEvent, String>)>;

    /// What the reader had to know about the file, once every row is read.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Makes identical rows distinct (exports with coarse timestamps repeat rows that are
/// separate events): the n-th repeat of a key within one timestamp gets `#n` appended.
#[derive(Default)]
pub struct RepeatCounter {
    at: String,
    seen: std::collections::HashMap<String, u32>,
}

impl RepeatCounter {
    pub fn next(&mut self, timestamp: &str, key: String) -> String {
        if self.at != timestamp {
            self.at.clear();
            self.at.push_str(timestamp);
            self.seen.clear();
        }
        let n = self.seen.entry(key.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { key } else { format!("{key}#{n}") }
    }
}

/// A Learn id from a `pk1` (`123` → `_123_1`); ids already in that form are kept.
pub fn learn_id(pk1: &str) -> String {
    if pk1.bytes().all(|b| b.is_ascii_digit()) {
        format!("_{pk1}_1")
    } else {
        pk1.to_string()
    }
}

/// Counts the bytes read through it, for progress bars.
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// JSON documents one per line: Caliper events or envelopes, or xAPI statements.
struct JsonLines<R: BufRead> {
    input: R,
    line: u64,
    format: Format,
    queue: std::collections::VecDeque<(u64, Result<LmsEvent, String>)>,
    buf: String,
}

impl<R: BufRead> RowSource for JsonLines<R> {
    fn next_row(&mut self) -> Option<(u64, Result<LmsEvent, String>)> {
        loop {
            if let Some(row) = self.queue.pop_front() {
                return Some(row);
            }
            self.buf.clear();
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => self.line += 1,
                Err(e) => return Some((self.line + 1, Err(format!("unreadable line: {e}")))),
            }
            let text = self.buf.trim();
            if text.is_empty() {
                continue;
            }
            let line = self.line;
            let value: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => return Some((line, Err(format!("not JSON: {e}")))),
            };
            match self.format {
                Format::CaliperJsonl => match value.get("data") {
                    Some(Value::Array(events)) => self
                        .queue
                        .extend(events.iter().map(|e| (line, caliper::map_event(e)))),
                    _ => self.queue.push_back((line, caliper::map_event(&value))),
                },
                _ => {
                    let statement = xapi::unwrap_stored(value);
                    self.queue
                        .push_back((line, xapi::map_statement(&statement)));
                }
            }
        }
    }
}

/// Imports `path` in `format` into `course` with the default options and `session_gap`.
/// `progress` is told the bytes read so far after each batch.
pub async fn import_file(
    store: &Store,
    course: CourseId,
    format: Format,
    path: &Path,
    session_gap: Duration,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, ImportError> {
    let options = ImportOptions::new(session_gap);
    import_file_with(store, course, format, path, &options, progress).await
}

/// Imports `path` in `format` into `course`. `progress` is told the bytes read so far
/// after each batch (the file's size is what it counts towards).
pub async fn import_file_with(
    store: &Store,
    course: CourseId,
    format: Format,
    path: &Path,
    options: &ImportOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, ImportError> {
    let session_gap = options.session_gap;
    let io_error = |source: std::io::Error| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let rejections = options.rejections_file.as_deref();
    let log = RejectionLog::new(rejections).map_err(|source| ImportError::Io {
        path: rejections.map_or(String::new(), |p| p.display().to_string()),
        source,
    })?;
    let count = Arc::new(AtomicU64::new(0));
    let course_row = store.course(course).await?;
    let clock = CourseClock::or_utc(&course_row.time_zone);
    let times = TimestampReader::new(clock);
    // A Loop export is a zip: its activity file is copied out first (streamed), so the
    // rows can be read like any other file.
    let extracted;
    let source_path = if format == Format::Loop {
        extracted = super::loop_export::extract_activity(path)?;
        extracted.path()
    } else {
        path
    };
    let file = File::open(source_path).map_err(io_error)?;
    let input = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: file,
            count: count.clone(),
        },
    );
    let rows: Box<dyn RowSource + Send> = match format {
        Format::BbAccumulator => Box::new(
            AccumulatorRows::new(input, times, course_row.lms_course_pk.as_deref())
                .map_err(ImportError::Unreadable)?,
        ),
        Format::Loop => Box::new(
            super::loop_export::LoopRows::new(input, times).map_err(ImportError::Unreadable)?,
        ),
        Format::MoodleLog => Box::new(
            super::moodle_log::MoodleLogRows::new(
                input,
                times,
                super::moodle_log::MoodleContext::of_course(store, &course_row, options.year)
                    .await?,
            )
            .map_err(ImportError::Unreadable)?,
        ),
        Format::CaliperJsonl | Format::XapiJsonl => Box::new(JsonLines {
            input,
            line: 0,
            format,
            queue: Default::default(),
            buf: String::new(),
        }),
    };
    let recorder = Recorder::for_course(store, course, session_gap).await?;
    // Reading and resolving run as their own task, a batch ahead of the writer, so the
    // two overlap on separate cores.
    let (batches, mut ready) = tokio::sync::mpsc::channel(1);
    let reader = tokio::spawn(read_batches(
        store.clone(),
        course,
        Resolver::new(course_row.platform_id),
        rows,
        batches,
        log,
    ));
    let mut written = IngestReport::default();
    while let Some(batch) = ready.recv().await {
        written.absorb(recorder.record(store, batch).await?);
        progress(count.load(Ordering::Relaxed));
    }
    let mut report = reader
        .await
        .map_err(|e| ImportError::Unreadable(format!("the reader stopped: {e}")))??;
    report.report.absorb(written);
    store.seal_finished_student_days(course).await?;
    store.refresh_planner_statistics().await;
    if report.rows == 0 {
        return Err(ImportError::Unreadable(format!(
            "{} holds no {} rows",
            path.display(),
            format.as_str()
        )));
    }
    Ok(report)
}

/// Reads `rows` into batches of resolved events for `course` and sends them on; returns
/// the rows read and the rejected ones (the writer counts new and duplicate events).
async fn read_batches(
    store: Store,
    course: CourseId,
    mut resolver: Resolver,
    mut rows: Box<dyn RowSource + Send>,
    batches: tokio::sync::mpsc::Sender<Vec<NewActivity>>,
    mut log: RejectionLog,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut reject = |report: &mut ImportReport, line: u64, reason: String| {
        log.add(line, &reason)?;
        report.report.reject(line, None, reason);
        Ok::<_, std::io::Error>(())
    };
    let mut batch = Vec::with_capacity(BATCH);
    let window = EventWindow::now();
    // A batch is built only once the writer has taken the previous one, so at most two
    // are held at a time. A closed channel means the writer stopped; its error is the one
    // to report.
    let Ok(mut slot) = batches.reserve().await else {
        return Ok(report);
    };
    while let Some((line, row)) = rows.next_row() {
        report.rows += 1;
        let event = match row.and_then(|event| window.check(&event).map(|()| event)) {
            Ok(event) => event,
            Err(reason) => {
                reject(&mut report, line, reason).map_err(ImportError::Rejections)?;
                continue;
            }
        };
        // The operator named the course: an event whose reference is ambiguous between
        // deployments goes to it, one that names another course is refused.
        if event.course.key().is_some()
            && let CourseLookup::Found(other) = resolver.course(&store, &event.course).await?
            && other != course
        {
            reject(
                &mut report,
                line,
                format!("the event belongs to another course (cloop course {other})"),
            )
            .map_err(ImportError::Rejections)?;
            continue;
        }
        batch.push(event);
        if batch.len() == BATCH {
            slot.send(resolve(&store, course, &mut resolver, &mut batch).await?);
            let Ok(next) = batches.reserve().await else {
                return Ok(report);
            };
            slot = next;
        }
    }
    if !batch.is_empty() {
        slot.send(resolve(&store, course, &mut resolver, &mut batch).await?);
    }
    let (reasons, file) = log.finish().map_err(ImportError::Rejections)?;
    report.reasons = reasons;
    report.rejections_file = file;
    report.notes = rows.notes();
    Ok(report)
}

/// The events of `batch` resolved for `course` (the batch is emptied): the users and items
/// they name are looked up, or created, in bulk first.
async fn resolve(
    store: &Store,
    course: CourseId,
    resolver: &mut Resolver,
    batch: &mut Vec<LmsEvent>,
) -> Result<Vec<NewActivity>, ImportError> {
    resolver.prefetch(store, course, batch).await?;
    let mut resolved = Vec::with_capacity(batch.len());
    for event in batch.drain(..) {
        resolved.push(resolver.activity(store, course, event).await?);
    }
    Ok(resolved)
}
