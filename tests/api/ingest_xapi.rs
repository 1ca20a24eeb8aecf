//! `POST /xapi/statements` with statements from Moodle's logstore_xapi plugin.

use cloop::store::ingest::IngestKeyKind;
use serde_json::Value;

use crate::ingest_support::{assert_rollups_match, fixture, key, platform};
use crate::{app_on, on_both_backends};

const ZONE: &str = "Australia/Sydney";

on_both_backends! {
    async fn moodle_statements_are_stored_by_verb(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        // Moodle's LTI context id is its course id.
        let course = app
            .store
            .upsert_course(platform.id, crate::helpers::deployment(&app.store, platform.id).await, &cloop::store::courses::CourseUpsert {
                lms_context_id: "42".into(),
                title: "Ecology".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .id;
        app.store.set_course_calendar(course, &cloop::store::courses::CourseCalendar {
            start_date: time::macros::date!(2024 - 02 - 26), weeks: 12, time_zone: ZONE.into(),
        }).await.unwrap();
        let key = key(&app.store, platform.id, IngestKeyKind::Xapi).await;
        let send = |body: String, version: Option<&'static str>, password: &str| {
            let mut request = app
                .client
                .post(app.url("/xapi/statements"))
                .basic_auth("uni", Some(password))
                .header("content-type", "application/json")
                .body(body);
            if let Some(version) = version {
                request = request.header("X-Experience-API-Version", version);
            }
            request.send()
        };

        let response = send(fixture("xapi/moodle-statements.json"), Some("1.0.3"), &key).await.unwrap();
        assert_eq!(response.status(), 200);
        let report: Value = serde_json::from_str(response.headers()["x-cloop-report"].to_str().unwrap()).unwrap();
        assert_eq!(report["new"], 6, "{report}");
        let ids: Vec<String> = response.json().await.unwrap();
        assert_eq!(ids.len(), 6);
        assert_eq!(ids[0], "0f5b0d4e-1111-4c1b-8a55-000000000001");

        let stored = app.store.activity_of_course(course).await.unwrap();
        let kinds: Vec<&str> = stored.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["view", "view", "attempt", "submission", "post", "post"]);
        assert_eq!(stored[0].content_item_id, None, "a course view is course-level");
        assert!(stored[1].content_item_id.is_some());
        assert_eq!(stored[2].content_item_id, stored[3].content_item_id, "same quiz");
        assert_rollups_match(&app.store, course, ZONE).await;

        // A single statement, sent again: a duplicate.
        let statements: Vec<Value> = serde_json::from_str(&fixture("xapi/moodle-statements.json")).unwrap();
        let response = send(statements[1].to_string(), Some("1.0.3"), &key).await.unwrap();
        let report: Value = serde_json::from_str(response.headers()["x-cloop-report"].to_str().unwrap()).unwrap();
        assert_eq!(report["duplicate"], 1, "{report}");

        // Without the version header: 400. With a wrong password: 401.
        let response = send(statements[1].to_string(), None, &key).await.unwrap();
        assert_eq!(response.status(), 400);
        let response = send(statements[1].to_string(), Some("1.0.3"), "wrong").await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(app.store.activity_of_course(course).await.unwrap().len(), 6);
    }
}
