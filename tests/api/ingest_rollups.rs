//! Rollups kept in the same transaction as the events equal a recount from the raw
//! events, whatever the order and batching the events arrive in; days are local days.

use cloop::ingest::{ActivityKind, ActivitySource, DEFAULT_SESSION_GAP, NewActivity, record};
use cloop::store::EpochMs;
use cloop::store::content::{ContentRow, ItemGroup};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::ingest_support::{assert_rollups_match, course, platform};
use crate::{fresh_store, on_both_backends};

const KINDS: [ActivityKind; 7] = [
    ActivityKind::View,
    ActivityKind::View,
    ActivityKind::View,
    ActivityKind::Post,
    ActivityKind::Attempt,
    ActivityKind::Submission,
    ActivityKind::Login,
];

/// 2024-03-04T00:00Z, a Monday.
const BASE: i64 = 1_709_510_400_000;

on_both_backends! {
    async fn rollups_equal_a_recount_for_random_event_sets(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let zone = "Australia/Melbourne";
        let mut users = Vec::new();
        for n in 0..4 {
            users.push(store.user_by_lms_pk(platform.id, &format!("_{n}_1")).await.unwrap());
        }
        // Events: (user or none, item or none, kind, minute within three days, second,
        // whether it reuses the previous key, arrival order).
        let strategy = proptest::collection::vec(
            (0usize..5, 0usize..4, 0usize..7, 0i64..3 * 24 * 60, 0i64..60, proptest::bool::weighted(0.1), 0u32..1000),
            1..120,
        );
        let batches = proptest::collection::vec(1usize..40, 1..10);
        let mut runner = TestRunner::deterministic();
        for case in 0..24u64 {
            let course = course(&store, platform.id, 5000 + case, zone).await;
            let mut items = Vec::new();
            for n in 0..3 {
                items.push(store.content_item_by_lms_id(course, &format!("_{n}_1"), "content").await.unwrap());
            }
            let drawn = strategy.new_tree(&mut runner).unwrap().current();
            let mut events: Vec<(u32, NewActivity)> = Vec::new();
            for (i, (user, item, kind, minute, second, reuse, order)) in drawn.into_iter().enumerate() {
                let key = if reuse && i > 0 { format!("k{}", i - 1) } else { format!("k{i}") };
                events.push((order, NewActivity {
                    user: users.get(user).copied(),
                    content_item: items.get(item).copied(),
                    kind: KINDS[kind],
                    occurred_at: EpochMs(BASE + minute * 60_000 + second * 1000),
                    source: ActivitySource::Caliper,
                    idempotency_key: key,
                    session_ref: None,
                }));
            }
            events.sort_by_key(|(order, _)| *order);
            let events: Vec<NewActivity> = events.into_iter().map(|(_, e)| e).collect();
            let sizes = batches.new_tree(&mut runner).unwrap().current();
            let mut rest = events.as_slice();
            let mut sizes = sizes.into_iter().cycle();
            let mut stored = 0;
            while !rest.is_empty() {
                let take = sizes.next().unwrap().min(rest.len());
                let report = record(&store, course, rest[..take].to_vec(), DEFAULT_SESSION_GAP).await.unwrap();
                stored += report.new;
                rest = &rest[take..];
            }
            // Everything again, in one batch: nothing new, nothing changes.
            let again = record(&store, course, events.to_vec(), DEFAULT_SESSION_GAP).await.unwrap();
            assert_eq!(again.new, 0);
            assert_eq!(store.activity_of_course(course).await.unwrap().len() as u64, stored);
            assert_rollups_match(&store, course, zone).await;
            // Derived afresh from the day rollups, the course-wide rollups are the same.
            store.rebuild_course_rollups(course).await.unwrap();
            assert_rollups_match(&store, course, zone).await;
        }
    }
}

on_both_backends! {
    async fn late_evening_events_land_on_their_local_day(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let melbourne = course(&store, platform.id, 1, "Australia/Melbourne").await;
        let utc = course(&store, platform.id, 2, "UTC").await;
        let user = store.user_by_lms_pk(platform.id, "_5_1").await.unwrap();
        // 2024-03-04 23:30 in Melbourne (UTC+11) is 12:30Z; 00:10 on the 5th is 13:10Z.
        let at = |ms: i64, key: &str| NewActivity {
            user: Some(user),
            content_item: None,
            kind: ActivityKind::View,
            occurred_at: EpochMs(ms),
            source: ActivitySource::BbAccumulator,
            idempotency_key: key.into(),
            session_ref: None,
        };
        let events = [at(1_709_555_400_000, "a"), at(1_709_557_800_000, "b")];
        for course in [melbourne, utc] {
            record(&store, course, events.to_vec(), DEFAULT_SESSION_GAP).await.unwrap();
        }
        let day = |y, m, d| {
            i64::from(jiff::civil::date(y, m, d).since(jiff::civil::date(1970, 1, 1)).unwrap().get_days())
        };
        let local: Vec<(i64, i64)> = store.content_day_rollups(melbourne).await.unwrap().iter().map(|r| (r.day, r.views)).collect();
        assert_eq!(local, [(day(2024, 3, 4), 1), (day(2024, 3, 5), 1)]);
        let utc_days: Vec<(i64, i64)> = store.content_day_rollups(utc).await.unwrap().iter().map(|r| (r.day, r.views)).collect();
        assert_eq!(utc_days, [(day(2024, 3, 4), 2)]);
        // One session of 40 minutes, counted on the day it started.
        let sessions: Vec<(i64, i64, i64)> = store.student_day_rollups(melbourne).await.unwrap().iter().map(|r| (r.day, r.sessions, r.active_ms)).collect();
        assert_eq!(sessions, [(day(2024, 3, 4), 1, 40 * 60_000), (day(2024, 3, 5), 0, 0)]);
    }
}

on_both_backends! {
    async fn daily_group_views_follow_a_group_the_content_sync_changes(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 7100, "UTC").await;
        let user = store.user_by_lms_pk(platform.id, "_1_1").await.unwrap();
        // Events name the item before the content sync has brought it: a placeholder in
        // the content group.
        let item = store.content_item_by_lms_id(course, "_77_1", "content").await.unwrap();
        let events: Vec<NewActivity> = (0..3)
            .map(|n| NewActivity {
                user: Some(user),
                content_item: Some(item),
                kind: ActivityKind::View,
                occurred_at: EpochMs(BASE + n * 60_000),
                source: ActivitySource::Caliper,
                idempotency_key: format!("forum-view-{n}"),
                session_ref: None,
            })
            .collect();
        record(&store, course, events.to_vec(), DEFAULT_SESSION_GAP).await.unwrap();
        let day = store.course_days(course, 0, i64::MAX / 2).await.unwrap()[0];
        assert_eq!((day.content_views, day.communication_views), (3, 0));

        // The sync says it is a discussion board.
        store
            .sync_content_items(course, &[ContentRow {
                lms_id: "_77_1".into(),
                parent_lms_id: None,
                title: "Discussion board".into(),
                handler: "resource/x-bb-forumlink".into(),
                group: ItemGroup::Communication,
                position: 0,
                available: true,
                lms_created: None,
                lms_modified: None,
            }])
            .await
            .unwrap();
        let day = store.course_days(course, 0, i64::MAX / 2).await.unwrap()[0];
        assert_eq!((day.content_views, day.communication_views, day.pages_viewed), (0, 3, 1));
        assert_rollups_match(&store, course, "UTC").await;
    }
}
