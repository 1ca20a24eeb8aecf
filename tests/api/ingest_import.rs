//! File imports: accumulator, Loop zip, Moodle log, Caliper and xAPI lines, and the CLI.

use std::io::Write;

use cloop::ingest::DEFAULT_SESSION_GAP;
use cloop::ingest::import::{Format, ImportError, import_file};
use cloop::ingest::synthetic::{self, CourseShape, Generator};

use crate::ingest_support::{assert_rollups_match, cloop_import, course, platform};
use crate::{fresh_store, on_both_backends};

const ZONE: &str = "Australia/Melbourne";

fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/imports")
        .join(name)
}

fn local_day(y: i16, m: i8, d: i8) -> i64 {
    i64::from(
        jiff::civil::date(y, m, d)
            .since(jiff::civil::date(1970, 1, 1))
            .unwrap()
            .get_days(),
    )
}

on_both_backends! {
    async fn accumulator_rows_are_imported_and_bad_rows_reported_by_line(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 1358, ZONE).await;
        let path = fixture_path("accumulator.txt");

        let report = import_file(&store, course, Format::BbAccumulator, &path, DEFAULT_SESSION_GAP, &|_| {}).await.unwrap();
        assert_eq!(report.rows, 9);
        assert_eq!((report.report.new, report.report.duplicate, report.report.rejected), (6, 0, 3));
        let lines: Vec<u64> = report.report.rejections.iter().map(|r| r.at).collect();
        assert_eq!(lines, [7, 8, 9]);
        assert!(report.report.rejections[0].reason.contains("SYSTEM_TRAY_REFRESH"));
        assert!(report.report.rejections[1].reason.contains("9999"));
        assert!(report.report.rejections[2].reason.contains("timestamp"));

        let stored = store.activity_of_course(course).await.unwrap();
        let kinds: Vec<&str> = stored.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["view", "view", "view", "post", "view", "submission"]);
        assert_eq!(stored[0].idempotency_key, "acc:9001");
        // 09:02:10.500 local (UTC+11) is 22:02:10.500Z the day before.
        assert_eq!(stored[1].occurred_at.0, 1_709_503_330_500);
        // The view at 12:45Z is 23:45 local: counted on the 4th of March.
        let days: Vec<(i64, i64)> = store.content_day_rollups(course).await.unwrap().iter().map(|r| (r.day, r.views)).collect();
        assert!(days.iter().all(|(day, _)| *day == local_day(2024, 3, 4)), "{days:?}");
        assert_eq!(days.iter().map(|(_, v)| v).sum::<i64>(), 4);
        assert_rollups_match(&store, course, ZONE).await;

        let again = import_file(&store, course, Format::BbAccumulator, &path, DEFAULT_SESSION_GAP, &|_| {}).await.unwrap();
        assert_eq!((again.report.new, again.report.duplicate, again.report.rejected), (0, 6, 3));
    }
}

on_both_backends! {
    async fn moodle_log_rows_are_imported(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 42, ZONE).await;
        let report = import_file(&store, course, Format::MoodleLog, &fixture_path("moodle-log.csv"), DEFAULT_SESSION_GAP, &|_| {}).await.unwrap();
        assert_eq!((report.report.new, report.report.rejected), (4, 1), "{report:?}");
        assert_eq!(report.report.rejections[0].at, 6);
        let stored = store.activity_of_course(course).await.unwrap();
        let kinds: Vec<&str> = stored.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["post", "view", "view", "view"]);
        assert_rollups_match(&store, course, ZONE).await;
    }
}

/// Writes a synthetic course in `format` and imports it; every event written is stored.
async fn round_trip(
    store: &cloop::Store,
    course: cloop::store::CourseId,
    pk1: u64,
    format: Format,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export");
    let mut shape = CourseShape::semester(12);
    shape.course_pk1 = pk1;
    let mut generator = Generator::new(shape, 3, 3_000);
    let written = {
        let mut file = std::fs::File::create(&path).unwrap();
        let n = match format {
            Format::BbAccumulator => synthetic::write_accumulator(&mut generator, &mut file, false),
            Format::Loop => synthetic::write_loop_zip(&mut generator, &mut file),
            Format::MoodleLog => synthetic::write_moodle_log(&mut generator, &mut file),
            Format::CaliperJsonl => synthetic::write_caliper_jsonl(&mut generator, &mut file),
            Format::XapiJsonl => synthetic::write_xapi_jsonl(&mut generator, &mut file),
        }
        .unwrap();
        file.flush().unwrap();
        n
    };
    assert!(written > 1_000, "{format:?} wrote {written}");
    let seen = std::sync::atomic::AtomicU64::new(0);
    let report = import_file(
        store,
        course,
        format,
        &path,
        DEFAULT_SESSION_GAP,
        &|bytes| {
            seen.fetch_max(bytes, std::sync::atomic::Ordering::Relaxed);
        },
    )
    .await
    .unwrap();
    assert!(seen.into_inner() > 0, "progress was reported");
    assert_eq!(
        report.report.rejected,
        0,
        "{format:?}: {:?}",
        report.report.rejections.first()
    );
    assert_eq!(report.report.new, written, "{format:?}");
    assert_rollups_match(store, course, "Australia/Melbourne").await;
}

on_both_backends! {
    async fn every_format_the_generator_writes_imports_completely(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        for (n, format) in Format::ALL.into_iter().enumerate() {
            let pk1 = 7000 + n as u64;
            let course = course(&store, platform.id, pk1, ZONE).await;
            round_trip(&store, course, pk1, format).await;
        }
    }
}

on_both_backends! {
    async fn a_loop_zip_without_activity_is_unreadable(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 1, ZONE).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loop.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        zip.start_file("users.txt", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(b"1|a\n").unwrap();
        zip.finish().unwrap();
        let err = import_file(&store, course, Format::Loop, &path, DEFAULT_SESSION_GAP, &|_| {}).await.unwrap_err();
        assert!(matches!(err, ImportError::Unreadable(ref m) if m.contains("activity.txt")), "{err}");
    }
}

#[tokio::test]
async fn cli_import_reports_rejected_lines_and_fails_only_when_nothing_is_read() {
    let Some(db) =
        crate::helpers::TestDatabase::fresh(crate::helpers::Backend::Sqlite, "cli_import").await
    else {
        return;
    };
    let store = db.store().await;
    let platform = platform(&store).await;
    let course = course(&store, platform.id, 1358, ZONE).await;
    store.close().await;
    let run = |format: &str, file: &std::path::Path| {
        cloop_import(&db.url, course, format)
            .arg(file)
            .output()
            .unwrap()
    };
    let output = run("bb-accumulator", &fixture_path("accumulator.txt"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("(line 7)") && stdout.contains("6 new"),
        "{stdout}"
    );

    let output = run("bb-accumulator", &fixture_path("moodle-log.csv"));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("timestamp"), "{stderr}");
}

on_both_backends! {
    async fn a_batch_resolves_known_people_and_items_and_creates_the_rest_once(backend: Backend) {
        use crate::views_fixture::{V, exec};
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 8100, "UTC").await;
        // One user known by the LMS's pk, one (launched before any sync) whose LTI sub is
        // the pk, and one content item the sync brought.
        let by_pk = exec(&store, "INSERT INTO users (platform_id, lms_sub, lms_user_pk, created_at, updated_at) VALUES ($1, 'sub-a', '_1_1', 0, 0) RETURNING id", &[V::I(platform.id.0)]).await;
        let by_sub = exec(&store, "INSERT INTO users (platform_id, lms_sub, created_at, updated_at) VALUES ($1, '_2_1', 0, 0) RETURNING id", &[V::I(platform.id.0)]).await;
        let item = exec(&store, "INSERT INTO content_items (course_id, lms_id, item_group, created_at, updated_at) VALUES ($1, '_10_1', 'content', 0, 0) RETURNING id", &[V::I(course.0)]).await;

        let pks = ["_1_1", "_2_1", "_3_1", "_4_1"];
        let mut users = store.users_by_lms_pks_or_new(platform.id, &pks).await.unwrap();
        users.sort();
        assert_eq!(users.len(), 4, "every key resolves");
        assert_eq!(users[0], ("_1_1".to_string(), cloop::store::UserId(by_pk)));
        assert_eq!(users[1], ("_2_1".to_string(), cloop::store::UserId(by_sub)));
        assert_eq!(crate::helpers::count_rows(&store, "users").await, 4);
        let again = store.users_by_lms_pks_or_new(platform.id, &pks).await.unwrap();
        assert_eq!(again.len(), 4);
        assert_eq!(crate::helpers::count_rows(&store, "users").await, 4, "placeholders are made once");
        let made = store.user_by_lms_pk(platform.id, "_3_1").await.unwrap();
        assert_eq!(users[2], ("_3_1".to_string(), made), "a placeholder is found one by one too");

        let items = [("_10_1", "content"), ("_11_1", "communication"), ("_12_1", "assessment")];
        let mut found = store.content_items_by_lms_ids_or_new(course, &items).await.unwrap();
        found.sort();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0], ("_10_1".to_string(), cloop::store::ContentItemId(item)));
        let groups: Vec<(String, String)> = store
            .content_tree(course)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.title, t.item_group))
            .collect();
        assert_eq!(groups.len(), 3);
        assert!(groups.iter().any(|(_, g)| g == "communication") && groups.iter().any(|(_, g)| g == "assessment"));
        store.content_items_by_lms_ids_or_new(course, &items).await.unwrap();
        assert_eq!(crate::helpers::count_rows(&store, "content_items").await, 3, "items are made once");
    }
}
