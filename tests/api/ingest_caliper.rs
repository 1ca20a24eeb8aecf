//! `POST /caliper` with envelopes shaped like Blackboard Learn's.

use cloop::ingest::attach_pending;
use cloop::store::ingest::IngestKeyKind;
use serde_json::Value;

use crate::ingest_support::{assert_rollups_match, course, fixture, key, platform};
use crate::{app_on, on_both_backends};

const ZONE: &str = "Australia/Melbourne";

async fn post(app: &crate::helpers::TestApp, key: Option<&str>, body: String) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/caliper"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

on_both_backends! {
    async fn learn_batch_is_stored_once_with_kinds_items_and_rollups(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let course = course(&app.store, platform.id, 1358, ZONE).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;

        let response = post(&app, Some(&key), fixture("caliper/learn-batch.json")).await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["new"], 8, "{report}");
        assert_eq!(report["rejected"], 0, "{report}");

        let stored = app.store.activity_of_course(course).await.unwrap();
        let kinds: Vec<&str> = stored.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["view", "view", "view", "attempt", "submission", "post", "submission", "grade"]);
        // The /unknown/unknown view is course-level; the others name their content item.
        assert_eq!(stored[0].content_item_id, None);
        assert!(stored[1..].iter().all(|a| a.content_item_id.is_some()));
        assert!(stored.iter().all(|a| a.source == cloop::activity::ActivitySource::Caliper && a.user_id.is_some()));
        assert_rollups_match(&app.store, course, ZONE).await;

        // The same batch again: all duplicates, nothing changes.
        let again: Value = post(&app, Some(&key), fixture("caliper/learn-batch.json")).await.json().await.unwrap();
        assert_eq!((again["new"].as_u64(), again["duplicate"].as_u64()), (Some(0), Some(8)), "{again}");
        assert_eq!(app.store.activity_of_course(course).await.unwrap().len(), 8);
        assert_rollups_match(&app.store, course, ZONE).await;
    }
}

on_both_backends! {
    async fn bad_events_are_reported_and_the_good_ones_stored(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let course = course(&app.store, platform.id, 1358, ZONE).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;

        let response = post(&app, Some(&key), fixture("caliper/mixed-batch.json")).await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["new"], 2, "{report}");
        assert_eq!(report["rejected"], 3, "{report}");
        let rejections = report["rejections"].as_array().unwrap();
        let at: Vec<u64> = rejections.iter().map(|r| r["at"].as_u64().unwrap()).collect();
        assert_eq!(at, [1, 2, 3]);
        assert!(rejections[0]["reason"].as_str().unwrap().contains("eventTime"));
        assert!(rejections[1]["reason"].as_str().unwrap().contains("ToolUseEvent"));
        assert!(rejections[2]["reason"].as_str().unwrap().contains("yesterday"));
        assert_eq!(rejections[0]["id"], "6b1c2f7e-0002-4a53-9d1e-000000000002");
        assert_eq!(app.store.activity_of_course(course).await.unwrap().len(), 2);
    }
}

on_both_backends! {
    async fn events_for_an_unknown_course_wait_for_it(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;

        let report: Value = post(&app, Some(&key), fixture("caliper/unknown-course-v1p2.json")).await.json().await.unwrap();
        assert_eq!((report["new"].as_u64(), report["pending"].as_u64()), (Some(0), Some(1)), "{report}");
        // Sent twice, kept once.
        let again: Value = post(&app, Some(&key), fixture("caliper/unknown-course-v1p2.json")).await.json().await.unwrap();
        assert_eq!(again["duplicate"], 1, "{again}");
        assert_eq!(app.store.pending_event_count(platform.id).await.unwrap(), 1);

        let course = course(&app.store, platform.id, 2001, ZONE).await;
        let attached = attach_pending(&app.store, course, cloop::ingest::DEFAULT_SESSION_GAP).await.unwrap();
        assert_eq!(attached.new, 1);
        assert_eq!(app.store.pending_event_count(platform.id).await.unwrap(), 0);
        let stored = app.store.activity_of_course(course).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].idempotency_key, "caliper:6b1c2f7e-0003-4a53-9d1e-000000000001");
        assert_rollups_match(&app.store, course, ZONE).await;

        // Once the course is known, the same event is a duplicate.
        let later: Value = post(&app, Some(&key), fixture("caliper/unknown-course-v1p2.json")).await.json().await.unwrap();
        assert_eq!(later["duplicate"], 1, "{later}");
    }
}

on_both_backends! {
    async fn missing_wrong_or_revoked_keys_are_401_and_store_nothing(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let course = course(&app.store, platform.id, 1358, ZONE).await;
        let (id, key) = cloop::ingest::new_ingest_key(&app.store, platform.id, IngestKeyKind::Caliper, "t").await.unwrap();
        let xapi_key = crate::ingest_support::key(&app.store, platform.id, IngestKeyKind::Xapi).await;

        for attempt in [None, Some("not-a-key"), Some(xapi_key.as_str())] {
            let response = post(&app, attempt, fixture("caliper/learn-batch.json")).await;
            assert_eq!(response.status(), 401, "{attempt:?}");
            let body: Value = response.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("caliper-key"), "{body}");
        }
        app.store.revoke_ingest_key(platform.id, id).await.unwrap();
        assert_eq!(post(&app, Some(&key), fixture("caliper/learn-batch.json")).await.status(), 401);
        assert!(app.store.activity_of_course(course).await.unwrap().is_empty());
    }
}

on_both_backends! {
    async fn malformed_envelopes_are_400_and_huge_bodies_413(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;

        let response = post(&app, Some(&key), "{\"sensor\": \"x\", \"data\": [".into()).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("not JSON"), "{body}");

        let response = post(&app, Some(&key), "{\"sensor\": \"x\", \"sendTime\": \"2020-01-01T00:00:00Z\", \"dataVersion\": \"http://purl.imsglobal.org/ctx/caliper/v1p1\", \"data\": {}}".into()).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("data"), "{body}");

        let huge = format!("{{\"sensor\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
        let response = post(&app, Some(&key), huge).await;
        assert_eq!(response.status(), 413);
    }
}
