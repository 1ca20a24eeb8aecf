//! Pushed events with control characters or impossible times, refused one by one; and the
//! CSV formula guard.

use cloop::store::PlatformId;
use cloop::store::courses::CourseUpsert;
use cloop::store::ingest::IngestKeyKind;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::ingest_support::{course, key, platform};
use crate::views::{get, with_token};
use crate::views_fixture::{V, exec, seed};
use crate::{app_on, on_both_backends};

/// A Learn view of course `_{pk}` by user `user` at `time`.
pub fn caliper_view(id: &str, course_pk: &str, user: &str, time: &str) -> Value {
    json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "type": "ViewEvent", "id": id, "action": "Viewed", "eventTime": time,
        "actor": {"id": "https://lms/users/1", "type": "Person", "extensions": {"bb:user.id": user}},
        "object": {"id": "https://lms/sites/s/content/_5_1", "type": "Document", "name": "Reading"},
        "group": {"id": "https://lms/courses/1", "type": "CourseOffering", "extensions": {"bb:course.id": course_pk}},
    })
}

pub async fn post_caliper(app: &TestApp, key: &str, events: Vec<Value>) -> Value {
    let envelope = json!({
        "sensor": "https://lms", "sendTime": "2026-01-01T00:00:00Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1", "data": events,
    });
    let res = app
        .client
        .post(app.url("/caliper"))
        .bearer_auth(key)
        .json(&envelope)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "a batch with bad events is still answered 200"
    );
    res.json().await.unwrap()
}

/// A Moodle view of course `course_id` by `user` at `time`.
pub fn xapi_view(id: &str, course_id: &str, user: &str, time: &str) -> Value {
    json!({
        "id": id, "timestamp": time,
        "actor": {"account": {"name": user, "homePage": "https://moodle"}},
        "verb": {"id": "http://id.tincanapi.com/verb/viewed"},
        "object": {"id": format!("https://moodle/course/view.php?id={course_id}")},
    })
}

pub async fn post_xapi(app: &TestApp, key: &str, statements: Vec<Value>) -> Value {
    let res = app
        .client
        .post(app.url("/xapi/statements"))
        .basic_auth("lms", Some(key))
        .header("X-Experience-API-Version", "1.0.3")
        .json(&statements)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "a batch with bad statements is still answered 200"
    );
    // The report echoes what was sent, which may be any UTF-8.
    serde_json::from_slice(res.headers()["x-cloop-report"].as_bytes()).unwrap()
}

fn rfc3339(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn hours_from_now(hours: i64) -> String {
    rfc3339(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours))
}

/// The reasons of a report's rejections, by position.
fn reasons(report: &Value) -> Vec<(u64, String)> {
    report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["at"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn xapi_course(app: &TestApp, platform: PlatformId) -> cloop::store::CourseId {
    let upsert = CourseUpsert {
        lms_context_id: "42".into(),
        title: "Ecology".into(),
        ..Default::default()
    };
    let deployment = crate::helpers::deployment(&app.store, platform).await;
    app.store
        .upsert_course(platform, deployment, &upsert)
        .await
        .unwrap()
        .id
}

on_both_backends! {
    async fn a_nul_in_one_caliper_event_rejects_only_that_event(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let course = course(&app.store, platform.id, 1358, "UTC").await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let now = hours_from_now(-1);
        let mut ignored_nul = caliper_view("e3", "_1358_1", "_3_1", &now);
        ignored_nul["object"]["name"] = json!("Read\u{0}ing");
        let mut session_newline = caliper_view("e4", "_1358_1", "_4_1", &now);
        session_newline["federatedSession"] = json!({"name": "sess\n1"});
        let mut pending_nul = caliper_view("e5", "_999_1", "_3_1", &now);
        pending_nul["object"]["name"] = json!("for a course not known yet \u{0}");
        let report = post_caliper(&app, &key, vec![
            caliper_view("e1", "_1358_1", "_1_1", &now),
            caliper_view("e2", "_1358_1", "_2\u{0}_1", &now),
            ignored_nul,
            session_newline,
            pending_nul,
        ]).await;
        assert_eq!((report["new"].as_u64(), report["rejected"].as_u64(), report["pending"].as_u64()), (Some(2), Some(2), Some(1)), "{report}");
        let reasons = reasons(&report);
        assert_eq!(reasons[0].0, 1);
        assert!(reasons[0].1.contains("the user id contains the control character U+0000"), "{reasons:?}");
        assert_eq!(reasons[1].0, 3);
        assert!(reasons[1].1.contains("the session id contains the control character U+000A"), "{reasons:?}");
        assert_eq!(app.store.activity_of_course(course).await.unwrap().len(), 2);
    }
}

on_both_backends! {
    async fn a_nul_in_one_xapi_statement_rejects_only_that_statement(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let course = xapi_course(&app, platform.id).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Xapi).await;
        let now = hours_from_now(-1);
        let report = post_xapi(&app, &key, vec![
            xapi_view("s1", "42", "ann", &now),
            xapi_view("s2\u{0}", "42", "bob", &now),
            xapi_view("s3", "42", "c\u{1b}at", &now),
            xapi_view("s4", "42", "dan", &now),
        ]).await;
        assert_eq!((report["new"].as_u64(), report["rejected"].as_u64()), (Some(2), Some(2)), "{report}");
        let reasons = reasons(&report);
        assert!(reasons[0].1.contains("the event id contains the control character U+0000"), "{reasons:?}");
        assert!(reasons[1].1.contains("the user id contains the control character U+001B"), "{reasons:?}");
        assert_eq!(app.store.activity_of_course(course).await.unwrap().len(), 2);
    }
}

on_both_backends! {
    async fn events_far_in_the_past_or_future_are_rejected_one_by_one(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let course = course(&app.store, platform.id, 1358, "UTC").await;
        let caliper = key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let times = ["9999-06-01T00:00:00Z".to_string(), hours_from_now(-20 * 366 * 24), hours_from_now(48), hours_from_now(-2), hours_from_now(20)];
        let events = times.iter().enumerate().map(|(n, t)| caliper_view(&format!("t{n}"), "_1358_1", "_1_1", t)).collect();
        let report = post_caliper(&app, &caliper, events).await;
        assert_eq!((report["new"].as_u64(), report["rejected"].as_u64()), (Some(2), Some(3)), "{report}");
        let reasons = reasons(&report);
        assert_eq!(reasons.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(reasons[0].1.contains("is more than a day after it arrived"), "{reasons:?}");
        assert!(reasons[1].1.contains("is more than 10 years before it arrived"), "{reasons:?}");
        assert!(reasons[2].1.contains("is more than a day after it arrived"), "{reasons:?}");
        assert_eq!(app.store.activity_of_course(course).await.unwrap().len(), 2);

        let xapi = key(&app.store, platform.id, IngestKeyKind::Xapi).await;
        xapi_course(&app, platform.id).await;
        let statements = times.iter().enumerate().map(|(n, t)| xapi_view(&format!("x{n}"), "42", "ann", t)).collect();
        let report = post_xapi(&app, &xapi, statements).await;
        assert_eq!((report["new"].as_u64(), report["rejected"].as_u64()), (Some(2), Some(3)), "{report}");
    }
}

on_both_backends! {
    async fn csv_cells_that_spreadsheets_would_run_are_guarded(backend: Backend) {
        use V::*;
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let names = [(f.ann.0, "\t=1+1"), (f.bob.0, "\r@SUM(A1)")];
        for (user, name) in names {
            exec(&app.store, "UPDATE users SET name = $1 WHERE id = $2", &[T(name), I(user)]).await;
        }
        exec(&app.store, "UPDATE content_items SET title = '  =HYPERLINK(\"http://evil\")' WHERE id = $1", &[I(f.r1)]).await;
        exec(&app.store, "UPDATE content_items SET title = '-2+3' WHERE title = 'Slides'", &[]).await;
        let token = f.staff_token();
        let c = f.course;
        let (status, students) = get(&app, &with_token(&format!("/courses/{c}/students?csv=students"), &token)).await;
        assert_eq!(status, 200);
        assert!(students.contains("\n'\t=1+1,"), "{students:?}");
        assert!(students.contains("\n\"'\r@SUM(A1)\","), "{students:?}");
        let (_, content) = get(&app, &with_token(&format!("/courses/{c}/content?csv=access"), &token)).await;
        assert!(content.contains("\"'  =HYPERLINK(\"\"http://evil\"\")\""), "{content:?}");
        assert!(content.contains("\n'-2+3,"), "{content:?}");
        let (_, daily) = get(&app, &with_token(&format!("/courses/{c}?csv=daily"), &token)).await;
        assert!(!daily.contains('\''), "numbers are never prefixed: {daily:?}");
    }
}
