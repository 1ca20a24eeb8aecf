//! Moodle log downloads as Moodle writes them: ids hidden ("The user with id 'x'"), times
//! without a year ("11 May, 09:44"), and thousands of rows rejected for one reason, which
//! `cloop import` summarises instead of listing.

use std::io::Write;

use cloop::ingest::DEFAULT_SESSION_GAP;
use cloop::ingest::import::{Format, ImportOptions, import_file_with};
use cloop::store::courses::CourseCalendar;
use cloop::store::users::UserUpsert;
use cloop::store::{CourseId, PlatformId, Store};

use crate::ingest_support::{cloop_import, course, platform};
use crate::{fresh_store, on_both_backends};

const HEADER: &str = "Time,User full name,Affected user,Event context,Component,Event name,Description,Origin,IP address\n";

/// A download of `rows` views with hidden ids and year-less times in May: the first
/// `known` people are the course's members, the others no one cloop knows.
fn anonymised_log(rows: usize, people: usize) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(HEADER.as_bytes()).unwrap();
    for i in 0..rows {
        let (day, minute) = (1 + i % 28, i % 600);
        let context = if i % 3 == 0 {
            "Forum: Questions"
        } else {
            "File: Week 1 slides"
        };
        let component = if i % 3 == 0 { "Forum" } else { "File" };
        writeln!(
            file,
            "\"{day} May, {:02}:{:02}\",Person {},-,{context},{component},Course module viewed,\
             \"The user with id 'x' viewed the course module with id 'x' for the '{component}' activity.\",web,-",
            8 + minute / 60,
            minute % 60,
            i % people,
        )
        .unwrap();
    }
    file.flush().unwrap();
    file
}

/// A course that began on 2025-03-03 for 13 weeks, with `members` named students.
async fn course_with_members(store: &Store, members: usize) -> (PlatformId, CourseId) {
    let platform = platform(store).await;
    let course = course(store, platform.id, 4400, "Australia/Melbourne").await;
    store
        .set_course_calendar(
            course,
            &CourseCalendar {
                start_date: time::macros::date!(2025 - 03 - 03),
                weeks: 13,
                time_zone: "Australia/Melbourne".into(),
            },
        )
        .await
        .unwrap();
    for i in 0..members {
        let user = store
            .upsert_user(
                platform.id,
                &UserUpsert {
                    lms_sub: format!("moodle-sub-{i}"),
                    name: format!("Person {i}"),
                    ..UserUpsert::default()
                },
            )
            .await
            .unwrap();
        store
            .enrol(course, user.id, &["Learner"], false, "launch")
            .await
            .unwrap();
    }
    (platform.id, course)
}

on_both_backends! {
    async fn hidden_ids_are_matched_by_name_and_yearless_times_take_the_course_year(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let (_, course) = course_with_members(&store, 8).await;
        // Ten people in the log, eight of them members: every fifth row names a stranger.
        let log = anonymised_log(1_000, 10);
        let dir = tempfile::tempdir().unwrap();
        let listed = dir.path().join("rejected.tsv");
        let options = ImportOptions {
            rejections_file: Some(listed.clone()),
            ..ImportOptions::new(DEFAULT_SESSION_GAP)
        };
        let report = import_file_with(&store, course, Format::MoodleLog, log.path(), &options, &|_| {})
            .await
            .unwrap();
        assert_eq!(report.rows, 1_000);
        assert_eq!(report.report.new, 800, "{:?}", report.reasons);
        assert_eq!(report.report.rejected, 200);
        assert_eq!(report.reasons.len(), 1, "one reason, however many names: {:?}", report.reasons);
        assert_eq!(report.reasons[0].rows, 200);
        assert_eq!(report.reasons[0].first_lines, vec![10, 11, 20, 21, 30]);
        assert!(report.reasons[0].reason.contains("no member of the course is named \"Person 8\""));
        assert!(report.notes.iter().any(|n| n.contains("800 rows hide their ids") && n.contains("User full name")), "{:?}", report.notes);
        assert!(report.notes.iter().any(|n| n.contains("no year") && n.contains("course's dates")), "{:?}", report.notes);
        let text = std::fs::read_to_string(&listed).unwrap();
        assert_eq!(text.lines().count(), 201, "every rejected row is listed");

        // The views went to the members and the items the contexts name, in 2025.
        let first = store.latest_activity(course).await.unwrap().unwrap();
        assert_eq!(jiff::Timestamp::from_millisecond(first.0).unwrap().to_zoned_datetime(jiff::tz::TimeZone::UTC).year(), 2025);
        let items = store.content_items(course).await.unwrap();
        let mut titles: Vec<String> = items.iter().map(|i| i.lms_id.clone()).collect();
        titles.sort();
        assert_eq!(titles, ["context:File: Week 1 slides", "context:Forum: Questions"]);

        // Imported again: every row is known, none stored twice.
        let again = import_file_with(&store, course, Format::MoodleLog, log.path(), &ImportOptions::new(DEFAULT_SESSION_GAP), &|_| {})
            .await
            .unwrap();
        assert_eq!((again.report.new, again.report.duplicate), (0, 800));
    }
}

#[tokio::test]
async fn cli_summarises_thousands_of_rejections_in_a_few_lines() {
    let Some(db) =
        crate::helpers::TestDatabase::fresh(crate::helpers::Backend::Sqlite, "cli_moodle").await
    else {
        return;
    };
    let store = db.store().await;
    // No members: every row of a log with hidden ids is rejected, for one reason.
    let (_, course) = course_with_members(&store, 0).await;
    store.close().await;
    let log = anonymised_log(19_296, 40);
    let dir = tempfile::tempdir().unwrap();
    let listed = dir.path().join("all.tsv");
    let run = |extra: &[&str]| {
        cloop_import(&db.url, course, "moodle-log")
            .args(extra)
            .arg(log.path())
            .output()
            .unwrap()
    };
    let output = run(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "nothing was imported: {stdout}");
    assert!(
        stdout.lines().count() <= 5,
        "a summary, not a line per row:\n{stdout}"
    );
    assert!(stdout.contains("rejected 19296 rows: the description's ids are hidden and no member of the course is named"), "{stdout}");
    assert!(stdout.contains("(lines 2, 3, 4, 5, 6, …)"), "{stdout}");
    assert!(stdout.contains("--rejections FILE"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("every row was rejected"));

    let output = run(&["--rejections", listed.to_str().unwrap(), "--year", "2025"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "every rejected row is listed in {}",
            listed.display()
        )),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&listed).unwrap().lines().count(),
        19_297
    );
}
