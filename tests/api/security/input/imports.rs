//! Imported files with control characters in some rows: those rows are refused by line,
//! the others stored, whatever the format and the database.

use std::io::Write;

use cloop::ingest::DEFAULT_SESSION_GAP;
use cloop::ingest::import::{Format, import_file};

use super::events::caliper_view;
use crate::ingest_support::{course, platform};
use crate::{fresh_store, on_both_backends};

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

on_both_backends! {
    async fn import_rows_with_control_characters_are_refused_by_line(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 1358, "UTC").await;

        let accumulator = file(
            "PK1|Event_Type|USER_PK1|course_pk1|content_pk1|forum_pk1|session_id|Timestamp|data\n\
             9001|CONTENT_ACCESS|5|1358|201||77|2024-03-04 09:00:00|\n\
             9002|CONTENT_ACCESS|5\u{0}|1358|201||77|2024-03-04 09:01:00|\n\
             9003|CONTENT_ACCESS|5|1358|20\u{0}1||77|2024-03-04 09:02:00|\n\
             9004|CONTENT_ACCESS|6|1358|201||7\u{7}7|2024-03-04 09:03:00|\n\
             9005|CONTENT_ACCESS|6|1358|202||78|2024-03-04 09:04:00|\n",
        );
        let report = import_file(&store, course, Format::BbAccumulator, accumulator.path(), DEFAULT_SESSION_GAP, &|_| {}).await.unwrap();
        assert_eq!((report.report.new, report.report.rejected), (2, 3), "{report:?}");
        let lines: Vec<u64> = report.report.rejections.iter().map(|r| r.at).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(report.report.rejections[0].reason.contains("the user id contains the control character U+0000"));
        assert!(report.report.rejections[1].reason.contains("the content id contains"));
        assert!(report.report.rejections[2].reason.contains("the session id contains the control character U+0007"));

        let at = "2024-03-05T10:00:00Z";
        let lines = [
            caliper_view("j1", "_1358_1", "_1_1", at),
            caliper_view("j2", "_1358_1", "_1\u{0}_1", at),
            caliper_view("j3", "_1358_1", "_2_1", at),
        ];
        let jsonl = file(&lines.iter().map(|l| format!("{l}\n")).collect::<String>());
        let report = import_file(&store, course, Format::CaliperJsonl, jsonl.path(), DEFAULT_SESSION_GAP, &|_| {}).await.unwrap();
        assert_eq!((report.report.new, report.report.rejected), (2, 1), "{report:?}");
        assert_eq!(report.report.rejections[0].at, 2);
        assert_eq!(store.activity_of_course(course).await.unwrap().len(), 4);
    }
}
