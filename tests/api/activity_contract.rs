//! The contract every activity store keeps, run on both engines through the one interface
//! (`Store::record_activity`, `activity_page`, `latest_activity`,
//! `recount_activity_rollups`): each event stored once whatever the batching, rollups
//! kept with the events equal to a recount from them, sessions split at the gap, days in
//! the course's zone, pages that walk every event once in order.

use cloop::Store;
use cloop::activity::{
    ActivityCursor, ActivityKind, ActivitySource, Bucketing, CourseClock, Day, NewActivity,
};
use cloop::store::{ContentItemId, CourseId, EpochMs, UserId};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::ingest_support::{GAP_MS, assert_rollups_match, content_day_students, course, platform};
use crate::{fresh_store, on_both_backends};

/// 2024-03-04T00:00Z, a Monday.
pub const BASE: i64 = 1_709_510_400_000;

const KINDS: [ActivityKind; 7] = [
    ActivityKind::View,
    ActivityKind::View,
    ActivityKind::View,
    ActivityKind::Post,
    ActivityKind::Attempt,
    ActivityKind::Submission,
    ActivityKind::Login,
];

pub fn bucketing(zone: &str) -> Bucketing {
    Bucketing {
        clock: CourseClock::new(zone).unwrap(),
        session_gap_ms: GAP_MS,
    }
}

pub fn event(
    user: Option<UserId>,
    item: Option<ContentItemId>,
    kind: ActivityKind,
    at: i64,
    key: &str,
) -> NewActivity {
    NewActivity {
        user,
        content_item: item,
        kind,
        occurred_at: EpochMs(at),
        source: ActivitySource::Caliper,
        idempotency_key: key.into(),
        session_ref: None,
    }
}

/// Every rollup and session row of a course that counts anything, each table's rows as
/// text in key order (texts that are appended to are compared as what they count, not as
/// written).
pub async fn rollup_rows(store: &Store, course: CourseId) -> Vec<(&'static str, Vec<String>)> {
    const TABLES: [(&str, &str); 6] = [
        (
            "rollup_course_day",
            "SELECT day || ',' || content_views || ',' || communication_views || ',' || \
             assessment_views || ',' || pages_viewed || ',' || active_students || ',' || views \
             || ',' || sessions || ',' || active_ms FROM rollup_course_day WHERE course_id = $1 \
             AND (content_views <> 0 OR communication_views <> 0 OR assessment_views <> 0 \
             OR pages_viewed <> 0 OR active_students <> 0 OR views <> 0 OR sessions <> 0) \
             ORDER BY day",
        ),
        (
            "rollup_student_day",
            "SELECT day || ',' || user_id || ',' || views || ',' || sessions || ',' || active_ms \
             || ',' || item_views FROM rollup_student_day WHERE course_id = $1 \
             AND (views <> 0 OR sessions <> 0 OR active_ms <> 0 OR item_views <> '') \
             ORDER BY day, user_id",
        ),
        (
            "rollup_student_total",
            "SELECT user_id || ',' || views || ',' || sessions || ',' || active_ms || ',' || \
             COALESCE(CAST(last_view_day AS TEXT), '-') FROM rollup_student_total \
             WHERE course_id = $1 AND (views <> 0 OR sessions <> 0 OR active_ms <> 0) \
             ORDER BY user_id",
        ),
        (
            "rollup_item_total",
            "SELECT content_item_id || ',' || views || ',' || unique_students \
             FROM rollup_item_total WHERE course_id = $1 ORDER BY content_item_id",
        ),
        (
            "rollup_student_items",
            "SELECT user_id || ',' || item_views || ';' || day_views FROM rollup_student_items \
             WHERE course_id = $1 ORDER BY user_id",
        ),
        (
            "student_sessions",
            "SELECT user_id || ',' || started_at || ',' || last_event_at FROM student_sessions \
             WHERE course_id = $1 ORDER BY user_id, started_at",
        ),
    ];
    let mut rows = Vec::new();
    for (table, sql) in TABLES {
        let text: Vec<String> = match store {
            Store::Sqlite(db) => {
                sqlx::query_scalar(sql)
                    .bind(course.0)
                    .fetch_all(&db.pool)
                    .await
            }
            Store::Postgres(db) => {
                sqlx::query_scalar(sql)
                    .bind(course.0)
                    .fetch_all(&db.pool)
                    .await
            }
        }
        .unwrap();
        rows.push((table, text));
    }
    let content = store.content_day_rollups(course).await.unwrap();
    rows.push((
        "rollup_content_day",
        content.iter().map(|r| format!("{r:?}")).collect(),
    ));
    let students = content_day_students(store, course).await;
    rows.push((
        "rollup_content_day students",
        students.iter().map(|r| format!("{r:?}")).collect(),
    ));
    let hours = store.student_hour_rollups(course).await.unwrap();
    rows.push((
        "rollup_student_hour",
        hours.iter().map(|r| format!("{r:?}")).collect(),
    ));
    let course_hours = store.course_hour_rollups(course).await.unwrap();
    rows.push((
        "rollup_course_hour",
        course_hours.iter().map(|r| format!("{r:?}")).collect(),
    ));
    rows
}

on_both_backends! {
    async fn rollups_kept_with_the_events_equal_a_recount_from_them(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let zone = "Australia/Melbourne";
        let mut users = Vec::new();
        for n in 0..4 {
            users.push(store.user_by_lms_pk(platform.id, &format!("_{n}_1")).await.unwrap());
        }
        // (user or none, item or none, kind, minute within three days, second, whether it
        // reuses the previous key, arrival order)
        let strategy = proptest::collection::vec(
            (0usize..5, 0usize..4, 0usize..7, 0i64..3 * 24 * 60, 0i64..60, proptest::bool::weighted(0.1), 0u32..1000),
            1..150,
        );
        let batches = proptest::collection::vec(1usize..40, 1..10);
        let mut runner = TestRunner::deterministic();
        for case in 0..16u64 {
            let course = course(&store, platform.id, 9000 + case, zone).await;
            let mut items = Vec::new();
            for n in 0..3 {
                let kind = ["content", "communication", "assessment"][n];
                items.push(store.content_item_by_lms_id(course, &format!("_{n}_1"), kind).await.unwrap());
            }
            let mut drawn: Vec<(u32, NewActivity)> = Vec::new();
            for (i, (user, item, kind, minute, second, reuse, order)) in
                strategy.new_tree(&mut runner).unwrap().current().into_iter().enumerate()
            {
                let key = if reuse && i > 0 { format!("k{}", i - 1) } else { format!("k{i}") };
                let at = BASE + minute * 60_000 + second * 1000;
                drawn.push((order, event(users.get(user).copied(), items.get(item).copied(), KINDS[kind], at, &key)));
            }
            drawn.sort_by_key(|(order, _)| *order);
            let events: Vec<NewActivity> = drawn.into_iter().map(|(_, e)| e).collect();
            let sizes = batches.new_tree(&mut runner).unwrap().current();
            let mut rest = events.as_slice();
            let mut sizes = sizes.into_iter().cycle();
            let mut stored = 0;
            while !rest.is_empty() {
                let take = sizes.next().unwrap().min(rest.len());
                let fresh = store.record_activity(course, rest[..take].to_vec(), bucketing(zone)).await.unwrap();
                stored += fresh.iter().filter(|new| **new).count();
                rest = &rest[take..];
            }
            // Everything again, in one batch: nothing new, nothing changes.
            let again = store.record_activity(course, events.clone(), bucketing(zone)).await.unwrap();
            assert!(again.iter().all(|new| !*new));
            assert_eq!(store.activity_of_course(course).await.unwrap().len(), stored);
            let kept = rollup_rows(&store, course).await;
            assert_rollups_match(&store, course, zone).await;
            store.recount_activity_rollups(course, &bucketing(zone)).await.unwrap();
            let recounted = rollup_rows(&store, course).await;
            for ((table, kept), (_, recounted)) in kept.iter().zip(&recounted) {
                assert_eq!(kept, recounted, "case {case}: {table} kept with the events differs from its recount");
            }
            // Derived afresh from the day rollups, the course-wide rollups are the same.
            store.rebuild_course_rollups(course).await.unwrap();
            assert_eq!(rollup_rows(&store, course).await, recounted, "case {case}: course-wide rollups derived from the day rollups");
        }
    }
}

on_both_backends! {
    async fn each_event_is_stored_once_whatever_the_batching(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let user = store.user_by_lms_pk(platform.id, "_1_1").await.unwrap();
        let events: Vec<NewActivity> = (0..300)
            .map(|n| event(Some(user), None, ActivityKind::View, BASE + (n % 120) * 7_000, &format!("e{n}")))
            .collect();
        let one = course(&store, platform.id, 1, "UTC").await;
        let many = course(&store, platform.id, 2, "UTC").await;
        let fresh = store.record_activity(one, events.clone(), bucketing("UTC")).await.unwrap();
        assert!(fresh.iter().all(|new| *new));
        let mut new_in_pieces = 0;
        for (i, piece) in events.chunks(37).enumerate() {
            // Each piece also repeats the piece before's last event and one of its own.
            let mut batch = piece.to_vec();
            batch.push(piece[0].clone());
            if i > 0 {
                batch.push(events[i * 37 - 1].clone());
            }
            let fresh = store.record_activity(many, batch, bucketing("UTC")).await.unwrap();
            assert_eq!(fresh.len(), piece.len() + 1 + usize::from(i > 0));
            assert!(fresh[..piece.len()].iter().all(|new| *new));
            assert!(fresh[piece.len()..].iter().all(|new| !*new), "repeats are duplicates");
            new_in_pieces += fresh.iter().filter(|new| **new).count();
        }
        assert_eq!(new_in_pieces, events.len());
        for course in [one, many] {
            let again = store.record_activity(course, events.clone(), bucketing("UTC")).await.unwrap();
            assert!(again.iter().all(|new| !*new), "everything again is all duplicates");
            assert_eq!(store.activity_of_course(course).await.unwrap().len(), events.len());
        }
        assert_eq!(rollup_rows(&store, one).await, rollup_rows(&store, many).await);
    }
}

on_both_backends! {
    async fn sessions_split_past_the_gap_and_join_when_an_event_fills_it(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 3, "UTC").await;
        let user = store.user_by_lms_pk(platform.id, "_1_1").await.unwrap();
        let at = |ms: i64, key: &str| event(Some(user), None, ActivityKind::View, BASE + 9 * 3_600_000 + ms, key);
        // A gap of exactly the limit stays one session; a millisecond more starts another.
        let events = vec![at(0, "a"), at(GAP_MS, "b"), at(2 * GAP_MS + 1, "c")];
        store.record_activity(course, events, bucketing("UTC")).await.unwrap();
        let sessions = |rows: Vec<cloop::store::rollups::StudentDay>| -> Vec<(i64, i64)> {
            rows.iter().map(|r| (r.sessions, r.active_ms)).collect()
        };
        assert_eq!(sessions(store.student_day_rollups(course).await.unwrap()), [(2, GAP_MS)]);
        // An event in the gap joins the two sessions into one.
        store.record_activity(course, vec![at(GAP_MS * 3 / 2, "d")], bucketing("UTC")).await.unwrap();
        assert_eq!(sessions(store.student_day_rollups(course).await.unwrap()), [(1, 2 * GAP_MS + 1)]);
    }
}

on_both_backends! {
    async fn a_session_that_moves_to_the_day_before_leaves_no_active_student_behind(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let zone = "Australia/Melbourne";
        let course = course(&store, platform.id, 9, zone).await;
        let user = store.user_by_lms_pk(platform.id, "_1_1").await.unwrap();
        // 00:10 on 5 March in Melbourne, then (in a later batch) 23:50 on the 4th: the one
        // session now starts on the 4th, and the student did nothing else on the 5th.
        let post = |at: i64, key: &str| event(Some(user), None, ActivityKind::Post, at, key);
        store.record_activity(course, vec![post(1_709_557_800_000, "late")], bucketing(zone)).await.unwrap();
        store.record_activity(course, vec![post(1_709_556_600_000, "early")], bucketing(zone)).await.unwrap();
        let kept = rollup_rows(&store, course).await;
        store.recount_activity_rollups(course, &bucketing(zone)).await.unwrap();
        assert_eq!(kept, rollup_rows(&store, course).await);
    }
}

on_both_backends! {
    async fn days_are_the_courses_local_days(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let user = store.user_by_lms_pk(platform.id, "_1_1").await.unwrap();
        // 23:30 and 00:10 in Melbourne (UTC+11) are 12:30Z and 13:10Z of one UTC day.
        let events = vec![
            event(Some(user), None, ActivityKind::View, 1_709_555_400_000, "a"),
            event(Some(user), None, ActivityKind::View, 1_709_557_800_000, "b"),
        ];
        let day = |y, m, d| Day::of_date(jiff::civil::date(y, m, d)).0;
        for (pk, zone, expected) in [
            (4, "Australia/Melbourne", vec![(day(2024, 3, 4), 1), (day(2024, 3, 5), 1)]),
            (5, "UTC", vec![(day(2024, 3, 4), 2)]),
            (6, "America/New_York", vec![(day(2024, 3, 4), 2)]),
        ] {
            let course = course(&store, platform.id, pk, zone).await;
            store.record_activity(course, events.clone(), bucketing(zone)).await.unwrap();
            let days: Vec<(i64, i64)> = store.content_day_rollups(course).await.unwrap().iter().map(|r| (r.day, r.views)).collect();
            assert_eq!(days, expected, "{zone}");
        }
    }
}

on_both_backends! {
    async fn pages_walk_every_event_once_in_order_and_the_latest_is_the_last(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 7, "UTC").await;
        let user = store.user_by_lms_pk(platform.id, "_1_1").await.unwrap();
        // Over 1,500 minutes with several events sharing an instant, recorded out of order.
        let mut events: Vec<NewActivity> = (0..4_500)
            .map(|n| event(Some(user), None, ActivityKind::Login, BASE + (n / 3) * 60_000, &format!("k{}", 4_500 - n)))
            .collect();
        events.reverse();
        store.record_activity(course, events.clone(), bucketing("UTC")).await.unwrap();
        let mut cursor = ActivityCursor::default();
        let mut walked = Vec::new();
        let mut pages = 0;
        loop {
            let page = store.activity_page(course, &mut cursor).await.unwrap();
            if page.is_empty() {
                break;
            }
            pages += 1;
            walked.extend(page.into_iter().map(|e| (e.occurred_at.0, e.idempotency_key)));
        }
        let mut expected: Vec<(i64, String)> = events.iter().map(|e| (e.occurred_at.0, e.idempotency_key.clone())).collect();
        expected.sort();
        assert_eq!(walked, expected, "every event once, by instant and key");
        assert!(pages >= 2, "1,500 minutes of events are more packs than one page reads");
        assert_eq!(store.latest_activity(course).await.unwrap(), Some(EpochMs(expected.last().unwrap().0)));
        // An event a year ahead is not believable as the latest.
        let far = event(Some(user), None, ActivityKind::Login, EpochMs::now().0 + 365 * 86_400_000, "future");
        store.record_activity(course, vec![far], bucketing("UTC")).await.unwrap();
        assert_eq!(store.latest_activity(course).await.unwrap(), Some(EpochMs(expected.last().unwrap().0)));
    }
}

on_both_backends! {
    async fn events_recorded_without_rollups_stay_out_of_a_recount(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 8, "UTC").await;
        let user = store.user_by_lms_pk(platform.id, "_1_1").await.unwrap();
        store.record_activity(course, vec![event(Some(user), None, ActivityKind::View, BASE, "v")], bucketing("UTC")).await.unwrap();
        let mut attempt = event(Some(user), None, ActivityKind::Attempt, BASE + 86_400_000, "gradebook-1");
        attempt.source = ActivitySource::Gradebook;
        store.record_activity_without_rollups(course, &[attempt]).await.unwrap();
        let before = rollup_rows(&store, course).await;
        store.recount_activity_rollups(course, &bucketing("UTC")).await.unwrap();
        assert_eq!(rollup_rows(&store, course).await, before);
        assert_eq!(store.activity_of_course(course).await.unwrap().len(), 2);
    }
}
