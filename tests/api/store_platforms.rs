use cloop::Store;
use cloop::ingest::{ActivityKind, ActivitySource, DEFAULT_SESSION_GAP, NewActivity, record};
use cloop::store::platforms::NewPlatform;
use cloop::store::{CourseId, EpochMs, StoreError};

use crate::helpers::count_rows;
use crate::ingest_support::course;
use crate::{fresh_store, on_both_backends};

/// The tables the activity writer adds to with every batch, each keyed by course: the
/// rows a course's activity leaves besides its events.
const ACTIVITY_ROLLUPS: [&str; 9] = [
    "rollup_student_day",
    "rollup_student_hour",
    "rollup_course_hour",
    "student_sessions",
    "rollup_content_day",
    "rollup_course_day",
    "rollup_student_total",
    "rollup_item_total",
    "rollup_student_items",
];

pub fn blackboard(name: &str, client_id: &str) -> NewPlatform {
    NewPlatform {
        name: name.into(),
        product: "blackboard".into(),
        issuer: "https://blackboard.com".into(),
        client_id: client_id.into(),
        auth_url: "https://developer.blackboard.com/api/v1/gateway/oidcauth".into(),
        jwks_url: format!(
            "https://developer.blackboard.com/api/v1/management/applications/{client_id}/jwks.json"
        ),
        token_url: "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken".into(),
        token_audience: None,
    }
}

on_both_backends! {
    async fn platforms_are_created_listed_and_found_by_issuer(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let a = store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        let b = store.create_platform(&blackboard("uni-b", "client-b")).await.unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(a.client_id, "client-a");

        let names: Vec<_> = store.platforms().await.unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["uni-a", "uni-b"]);
        let shared = store.platforms_by_issuer("https://blackboard.com").await.unwrap();
        assert_eq!(shared.len(), 2);
        assert!(store.platforms_by_issuer("https://canvas.instructure.com").await.unwrap().is_empty());
        assert_eq!(store.platform(a.id).await.unwrap(), a);
        assert_eq!(store.platform_by_name("uni-b").await.unwrap().unwrap().id, b.id);
    }
}

on_both_backends! {
    async fn duplicate_registration_is_a_conflict(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        let same_client = store.create_platform(&blackboard("other-name", "client-a")).await;
        assert!(matches!(same_client, Err(StoreError::Conflict(_))), "{same_client:?}");
        let same_name = store.create_platform(&blackboard("uni-a", "client-z")).await;
        assert!(matches!(same_name, Err(StoreError::Conflict(_))), "{same_name:?}");
        assert_eq!(store.platforms().await.unwrap().len(), 1);
    }
}

on_both_backends! {
    async fn deployments_belong_to_their_platform(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let a = store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        let b = store.create_platform(&blackboard("uni-b", "client-b")).await.unwrap();
        store.add_deployment(a.id, "dep-1").await.unwrap();
        store.add_deployment(a.id, "dep-2").await.unwrap();
        store.add_deployment(a.id, "dep-1").await.unwrap();
        assert_eq!(store.deployments(a.id).await.unwrap(), ["dep-1", "dep-2"]);
        assert!(store.deployment(a.id, "dep-2").await.unwrap().is_some());
        assert!(store.deployment(b.id, "dep-2").await.unwrap().is_none());
    }
}

on_both_backends! {
    async fn removing_a_platform_removes_its_deployments(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let a = store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        store.add_deployment(a.id, "dep-1").await.unwrap();
        store.remove_platform(a.id).await.unwrap();
        assert!(store.platforms().await.unwrap().is_empty());
        assert!(store.deployments(a.id).await.unwrap().is_empty());
        assert!(matches!(store.remove_platform(a.id).await, Err(StoreError::NotFound(_))));
    }
}

/// Rows of `table` that belong to `course`.
async fn course_rows(store: &Store, table: &str, course: CourseId) -> i64 {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE course_id = $1"));
    match store {
        Store::Sqlite(db) => sqlx::query_scalar(sql)
            .bind(course.0)
            .fetch_one(&db.pool)
            .await
            .unwrap(),
        Store::Postgres(cloop::store::PostgresDb { pool, .. }) => sqlx::query_scalar(sql)
            .bind(course.0)
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

/// Views, a post and an attempt by two students over two days, in `course`.
async fn record_activity(store: &Store, platform: cloop::store::PlatformId, course: CourseId) {
    // 2024-03-04T00:00Z, a Monday.
    const BASE: i64 = 1_709_510_400_000;
    let item = store
        .content_item_by_lms_id(course, "_1_1", "content")
        .await
        .unwrap();
    let mut events = Vec::new();
    for (n, student) in ["_1_1", "_2_1"].into_iter().enumerate() {
        let user = store.user_by_lms_pk(platform, student).await.unwrap();
        for (i, (kind, minutes)) in [
            (ActivityKind::View, 0),
            (ActivityKind::View, 5),
            (ActivityKind::Post, 70),
            (ActivityKind::Attempt, 24 * 60 + 10),
        ]
        .into_iter()
        .enumerate()
        {
            events.push(NewActivity {
                user: Some(user),
                content_item: Some(item),
                kind,
                occurred_at: EpochMs(BASE + (minutes + 13 * n as i64) * 60_000),
                source: ActivitySource::Caliper,
                idempotency_key: format!("{student}-{i}"),
                session_ref: None,
            });
        }
    }
    let report = record(store, course, events, DEFAULT_SESSION_GAP)
        .await
        .unwrap();
    assert_eq!(report.new, 8);
}

on_both_backends! {
    async fn removing_a_platform_removes_its_courses_activity_rollups(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let gone = store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        let kept = store.create_platform(&blackboard("uni-b", "client-b")).await.unwrap();
        let gone_course = course(&store, gone.id, 1, "Australia/Melbourne").await;
        let kept_course = course(&store, kept.id, 2, "Australia/Melbourne").await;
        record_activity(&store, gone.id, gone_course).await;
        record_activity(&store, kept.id, kept_course).await;
        let mut kept_rows = Vec::new();
        for table in ACTIVITY_ROLLUPS {
            assert!(course_rows(&store, table, gone_course).await > 0, "{table} has no rows to remove");
            kept_rows.push(course_rows(&store, table, kept_course).await);
        }

        store.remove_platform(gone.id).await.unwrap();

        assert_eq!(count_rows(&store, "courses").await, 1);
        for (table, kept) in ACTIVITY_ROLLUPS.into_iter().zip(kept_rows) {
            assert_eq!(course_rows(&store, table, gone_course).await, 0, "{table} kept a removed course's rows");
            assert_eq!(course_rows(&store, table, kept_course).await, kept, "{table} lost another course's rows");
        }
    }
}
