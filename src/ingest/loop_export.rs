//! The original Loop export: a zip of pipe-delimited files. Activity comes from
//! `activity.txt` (`user_key|content_key|forum_key|timestamp`, keys being Learn pk1s,
//! times local to the course); the other files describe resources and users, which the
//! REST sync and launches bring in cloop, so only the activity is read.

use std::io::{BufRead, Read};
use std::path::Path;

use super::clock::TimestampReader;
use super::import::{ImportError, RepeatCounter, RowSource, learn_id};
use super::{ActivityKind, ActivitySource, ContentRef, CourseRef, ItemGroup, LmsEvent, hashed_key};

/// The largest `activity.txt` copied out of a Loop export. A large course's term is a few
/// million rows of about 40 bytes (hundreds of MB); 8 GiB leaves room for a whole
/// faculty's export while a zip bomb cannot fill the disk.
pub const MAX_ACTIVITY_BYTES: u64 = 8 << 30;
/// Pipe-delimited activity (keys and timestamps) compresses five- to twentyfold; an entry
/// that expands by more than this is a zip bomb (deflate reaches about 1000), refused once
/// it has written a few MB instead of gigabytes.
pub const MAX_COMPRESSION_RATIO: u64 = 100;
/// Small files may compress beyond the ratio (a header and a few repeated rows).
const RATIO_FLOOR_BYTES: u64 = 4 << 20;

/// Copies `activity.txt` out of the zip into a temporary file, streamed, refusing one that
/// expands past `MAX_ACTIVITY_BYTES` or `MAX_COMPRESSION_RATIO`.
pub fn extract_activity(zip_path: &Path) -> Result<tempfile::NamedTempFile, ImportError> {
    extract_activity_into(zip_path, &std::env::temp_dir(), MAX_ACTIVITY_BYTES)
}

fn extract_activity_into(
    zip_path: &Path,
    temp_dir: &Path,
    max_bytes: u64,
) -> Result<tempfile::NamedTempFile, ImportError> {
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
    let compressed = entry.compressed_size();
    let by_ratio = compressed
        .saturating_mul(MAX_COMPRESSION_RATIO)
        .max(RATIO_FLOOR_BYTES);
    let limit = max_bytes.min(by_ratio);
    let too_large = || {
        let why = if limit == max_bytes {
            format!("cloop extracts at most {} MiB", max_bytes >> 20)
        } else {
            format!(
                "more than {MAX_COMPRESSION_RATIO} times its compressed size of {compressed} bytes, which no activity export does"
            )
        };
        ImportError::Unreadable(format!(
            "activity.txt in {} expands past {limit} bytes ({why}); it was refused as a zip bomb. Check the file, or split the export.",
            zip_path.display()
        ))
    };
    // The sizes in the zip's headers are the sender's word; what is copied is counted.
    if entry.size() > limit {
        return Err(too_large());
    }
    let mut out = tempfile::NamedTempFile::new_in(temp_dir).map_err(io_error)?;
    let copied = std::io::copy(&mut (&mut entry).take(limit + 1), &mut out).map_err(io_error)?;
    if copied > limit {
        return Err(too_large());
    }
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_with_activity(dir: &Path, activity: &[u8]) -> std::path::PathBuf {
        let path = dir.join("loop.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("export/activity.txt", options).unwrap();
        zip.write_all(activity).unwrap();
        zip.finish().unwrap();
        path
    }

    #[test]
    fn activity_past_the_cap_is_refused_and_one_within_it_copied() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<u8> = (0..200_000u32)
            .flat_map(|n| {
                format!("_{n}_1|_{}_1||2024-03-0{} 10:11:12\n", n % 977, n % 9 + 1).into_bytes()
            })
            .collect();
        let zip = zip_with_activity(dir.path(), &rows);
        let extracted = tempfile::tempdir().unwrap();
        let cap = rows.len() as u64 - 1;
        let err = extract_activity_into(&zip, extracted.path(), cap)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expands past") && err.contains("zip bomb"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(extracted.path()).unwrap().count(),
            0,
            "nothing left behind"
        );

        let out = extract_activity_into(&zip, extracted.path(), rows.len() as u64).unwrap();
        assert_eq!(
            std::fs::read(out.path()).unwrap(),
            rows,
            "an export within the cap is copied whole"
        );
    }

    /// A zip bomb's headers claim a small size: the copy is counted, not the claim.
    #[test]
    fn a_bomb_whose_headers_lie_is_stopped_by_what_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_with_activity(dir.path(), &vec![b'a'; 16 << 20]);
        let mut bytes = std::fs::read(&zip).unwrap();
        let claim = 1000u32.to_le_bytes();
        bytes[22..26].copy_from_slice(&claim);
        let central = bytes
            .windows(4)
            .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .unwrap();
        bytes[central + 24..central + 28].copy_from_slice(&claim);
        std::fs::write(&zip, bytes).unwrap();
        let extracted = tempfile::tempdir().unwrap();
        let err = extract_activity_into(&zip, extracted.path(), MAX_ACTIVITY_BYTES)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("larger than its declared") || err.contains("expands past"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(extracted.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_absurd_compression_ratio_is_refused_early() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_with_activity(dir.path(), &vec![b'a'; 16 << 20]);
        let extracted = tempfile::tempdir().unwrap();
        let err = extract_activity_into(&zip, extracted.path(), MAX_ACTIVITY_BYTES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("times its compressed size"), "{err}");
        assert_eq!(std::fs::read_dir(extracted.path()).unwrap().count(), 0);
    }
}
