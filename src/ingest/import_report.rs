//! What an import reports: its counts, the rejected rows by reason and the reader's
//! notes, and how `cloop import` prints them; and the options an import takes.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::IngestReport;
use super::rejections::ReasonTally;

/// The outcome of one import.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// Data rows read (header lines not counted).
    pub rows: u64,
    #[serde(flatten)]
    pub report: IngestReport,
    /// The rejected rows by reason, the most first.
    pub reasons: Vec<ReasonTally>,
    /// The file every rejected row was written to, when one was asked for.
    pub rejections_file: Option<PathBuf>,
    /// What the reader had to know about the file (ids matched by name instead, say).
    pub notes: Vec<String>,
}

/// How an import reads and reports beyond the format.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The pause that ends a session.
    pub session_gap: Duration,
    /// The year of times written without one (Moodle logs); the course's dates otherwise.
    pub year: Option<i16>,
    /// Where to write every rejected row (`line<TAB>reason`).
    pub rejections_file: Option<PathBuf>,
}

impl ImportOptions {
    pub fn new(session_gap: Duration) -> Self {
        Self {
            session_gap,
            year: None,
            rejections_file: None,
        }
    }
}

impl ImportReport {
    /// True when rows were read but none could be stored or recognised as stored.
    pub fn nothing_readable(&self) -> bool {
        self.report.new + self.report.duplicate == 0
    }
}

/// The rejected rows by reason (count, an example, the first line numbers), what the
/// reader noted, and where the full list is: what `cloop import` prints before its totals.
pub fn summary(report: &ImportReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for tally in &report.reasons {
        let lines: Vec<String> = tally.first_lines.iter().map(u64::to_string).collect();
        let more = if tally.rows > tally.first_lines.len() as u64 {
            ", …"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "rejected {} row{}: {} (line{} {}{more})",
            tally.rows,
            if tally.rows == 1 { "" } else { "s" },
            tally.reason,
            if tally.first_lines.len() == 1 {
                ""
            } else {
                "s"
            },
            lines.join(", "),
        );
    }
    let listed: u64 = report
        .reasons
        .iter()
        .map(|t| t.first_lines.len() as u64)
        .sum();
    match &report.rejections_file {
        Some(path) if report.report.rejected > 0 => {
            let _ = writeln!(out, "every rejected row is listed in {}", path.display());
        }
        None if report.report.rejected > listed => {
            let _ = writeln!(
                out,
                "to list every rejected row, run again with --rejections FILE"
            );
        }
        _ => {}
    }
    out
}
