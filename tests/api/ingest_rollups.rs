//! Rollups kept in the same transaction as the events: local days and sessions, groups
//! the content sync changes, and the rest of what the views read (the recount from random
//! event sets is the activity contract's, `activity_contract.rs`).

use cloop::ingest::{ActivityKind, ActivitySource, DEFAULT_SESSION_GAP, NewActivity, record};
use cloop::store::EpochMs;
use cloop::store::content::{ContentRow, ItemGroup};

use crate::ingest_support::{assert_rollups_match, course, platform};
use crate::{fresh_store, on_both_backends};

/// 2024-03-04T00:00Z, a Monday.
const BASE: i64 = 1_709_510_400_000;

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
