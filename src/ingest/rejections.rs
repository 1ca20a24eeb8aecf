//! The rejected rows of an import, summarised: how many rows each reason rejected and the
//! first few of their line numbers, and, when asked, every rejection written to a file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Line numbers kept per reason.
const FIRST_LINES: usize = 5;

/// The rows one reason rejected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReasonTally {
    /// The reason as the first such row gave it.
    pub reason: String,
    pub rows: u64,
    /// The first rows' line numbers.
    pub first_lines: Vec<u64>,
}

/// Gathers an import's rejections by reason, writing each to `file` as it comes.
pub struct RejectionLog {
    tallies: Vec<ReasonTally>,
    by_kind: HashMap<String, usize>,
    file: Option<(PathBuf, BufWriter<File>)>,
}

impl RejectionLog {
    /// A log that keeps the tallies only, or also writes every rejection to `path`
    /// (`line<TAB>reason` lines, created or replaced).
    pub fn new(path: Option<&Path>) -> std::io::Result<Self> {
        let file = match path {
            Some(path) => {
                let mut out = BufWriter::new(File::create(path)?);
                writeln!(out, "line\treason")?;
                Some((path.to_path_buf(), out))
            }
            None => None,
        };
        Ok(Self {
            tallies: Vec::new(),
            by_kind: HashMap::new(),
            file,
        })
    }

    pub fn add(&mut self, line: u64, reason: &str) -> std::io::Result<()> {
        if let Some((_, out)) = &mut self.file {
            writeln!(out, "{line}\t{}", reason.replace(['\n', '\t'], " "))?;
        }
        let next = self.tallies.len();
        let at = *self.by_kind.entry(kind_of(reason)).or_insert(next);
        if at == next {
            self.tallies.push(ReasonTally {
                reason: reason.to_string(),
                rows: 0,
                first_lines: Vec::new(),
            });
        }
        let tally = &mut self.tallies[at];
        tally.rows += 1;
        if tally.first_lines.len() < FIRST_LINES {
            tally.first_lines.push(line);
        }
        Ok(())
    }

    /// The tallies, the most rows first, and the file every rejection went to.
    pub fn finish(self) -> std::io::Result<(Vec<ReasonTally>, Option<PathBuf>)> {
        let file = match self.file {
            Some((path, mut out)) => {
                out.flush()?;
                Some(path)
            }
            None => None,
        };
        let mut tallies = self.tallies;
        tallies.sort_by_key(|t| std::cmp::Reverse(t.rows));
        Ok((tallies, file))
    }
}

/// What a reason says without the row's own values: quoted text (`"…"`) and numbers are
/// left out, so "time \"11 May\" is not a date" and "time \"12 May\" …" are one reason.
fn kind_of(reason: &str) -> String {
    let mut kind = String::with_capacity(reason.len());
    let mut quoted = false;
    for c in reason.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                if quoted {
                    kind.push('…');
                }
            }
            _ if quoted => {}
            c if c.is_ascii_digit() => {
                if !kind.ends_with('#') {
                    kind.push('#');
                }
            }
            c => kind.push(c),
        }
    }
    kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_one_reason_are_counted_together_with_their_first_lines() {
        let mut log = RejectionLog::new(None).unwrap();
        for line in 2..=20 {
            log.add(line, &format!("time \"{line} May, 09:44\" has no year"))
                .unwrap();
        }
        log.add(21, "the event belongs to another course (cloop course 7)")
            .unwrap();
        log.add(22, "the event belongs to another course (cloop course 12)")
            .unwrap();
        let (tallies, file) = log.finish().unwrap();
        assert_eq!(file, None);
        assert_eq!(tallies.len(), 2);
        assert_eq!(tallies[0].rows, 19);
        assert_eq!(tallies[0].first_lines, vec![2, 3, 4, 5, 6]);
        assert_eq!(tallies[0].reason, "time \"2 May, 09:44\" has no year");
        assert_eq!(
            (tallies[1].rows, tallies[1].first_lines.clone()),
            (2, vec![21, 22])
        );
    }

    #[test]
    fn every_rejection_reaches_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejected.tsv");
        let mut log = RejectionLog::new(Some(&path)).unwrap();
        for line in 0..1_000 {
            log.add(line, "no user\tnamed").unwrap();
        }
        let (tallies, file) = log.finish().unwrap();
        assert_eq!(file.as_deref(), Some(path.as_path()));
        assert_eq!(tallies[0].rows, 1_000);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1_001);
        assert_eq!(text.lines().nth(1000), Some("999\tno user named"));
    }
}
