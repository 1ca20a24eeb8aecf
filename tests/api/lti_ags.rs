//! LTI Assignment and Grade Services (read) against the mock platform: Moodle-style
//! `?type_id=` URLs, two pages of line items and of results, `/results` before the query
//! string, exact media types, one token per run, removed line items, every failure mode as
//! a data-source status, and the launch storing the claim and queueing the read.

use std::time::Duration;

use cloop::lti::services::ags::{self, LINEITEMS_MEDIA_TYPE, RESULTS_MEDIA_TYPE, SCOPE_LINEITEM};
use cloop::lti::services::token::{SCOPE_LINEITEM_READ, SCOPE_RESULT_READ};
use cloop::lti::services::{AccessTokens, DataSourceStatus, ServiceError, TokenError, status};
use cloop::store::CourseId;
use cloop::store::courses::CourseUpsert;
use cloop::store::platforms::Platform;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::lti_services_mock::{MockServices, line_item, result};
use crate::on_both_backends;

const DUE: &str = "2026-04-10T13:00:00+00:00";
const DUE_MS: i64 = 1_775_826_000_000;
const OPENS: &str = "2026-04-03T09:00:00+00:00";
const OPENS_MS: i64 = 1_775_206_800_000;

/// A course whose launch offered Moodle's line items URL with the read scopes.
async fn course_with_gradebook(
    app: &TestApp,
    mock: &MockServices,
    platform: &Platform,
) -> CourseId {
    let course = app
        .store
        .upsert_course(
            platform.id,
            crate::helpers::deployment(&app.store, platform.id).await,
            &CourseUpsert {
                lms_context_id: "ctx-2".into(),
                title: "Ecology".into(),
                ..CourseUpsert::default()
            },
        )
        .await
        .unwrap();
    let line_items = format!("{}/mod/lti/services.php/2/lineitems?type_id=3", mock.base);
    app.store
        .set_course_service_urls(course.id, None, Some(&line_items))
        .await
        .unwrap();
    app.store
        .set_course_ags_scopes(
            course.id,
            &[
                SCOPE_LINEITEM_READ.to_string(),
                SCOPE_RESULT_READ.to_string(),
                "https://purl.imsglobal.org/spec/lti-ags/scope/score".to_string(),
            ],
        )
        .await
        .unwrap();
    course.id
}

fn seed(mock: &MockServices) {
    let mut lms = mock.lms();
    let mut essay = line_item("Essay", 20.0, Some(DUE));
    essay["startDateTime"] = json!(OPENS);
    lms.line_items = vec![
        (1, line_item("Quiz 1", 10.0, Some("2026-03-20T13:00:00Z"))),
        (2, essay),
        (3, line_item("Participation", 5.0, None)),
    ];
    lms.results.insert(
        1,
        vec![
            result("s1", 8.0, 10.0),
            result("s2", 6.0, 10.0),
            result("s3", 9.0, 10.0),
        ],
    );
    lms.results.insert(2, vec![result("s1", 50.0, 100.0)]);
}

async fn ags_status(app: &TestApp, course: CourseId) -> DataSourceStatus {
    status(&app.store, course)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.service == "ags")
        .expect("an AGS status")
}

async fn user_id(app: &TestApp, platform: &Platform, sub: &str) -> cloop::store::UserId {
    app.store
        .upsert_user(
            platform.id,
            &cloop::store::users::UserUpsert {
                lms_sub: sub.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
}

on_both_backends! {
    async fn line_items_and_results_are_read_over_two_pages_of_moodle_urls(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_gradebook(&app, &mock, &platform).await;
        seed(&mock);
        let tokens = AccessTokens::new();
        let report = ags::sync_gradebook(&app.store, &tokens, course).await.unwrap();
        assert_eq!((report.line_item_count, report.result_count), (3, 4));
        assert_eq!(report.line_items.inserted, 3);
        assert_eq!(report.grades.inserted, 4);
        assert_eq!(mock.token_requests(), 1, "one token for the whole run");
        let form = mock.lms().token_requests[0].clone();
        let asked: Vec<&str> = form["scope"].split(' ').collect();
        assert!(asked.contains(&SCOPE_LINEITEM_READ) && asked.contains(&SCOPE_RESULT_READ), "{asked:?}");

        let requests = mock.lms().requests.clone();
        // Line items: 2 pages; results: item 1 has 2 pages, items 2 and 3 one each.
        assert_eq!(requests.len(), 6, "{requests:?}");
        for (path, accept) in &requests {
            assert!(path.contains("type_id=3"), "the query string is kept on every page: {path}");
            if path.contains("/results") {
                assert!(path.contains("/lineitem/results?"), "/results goes before the query string: {path}");
                assert_eq!(accept, RESULTS_MEDIA_TYPE);
            } else {
                assert_eq!(accept, LINEITEMS_MEDIA_TYPE);
            }
        }
        assert!(requests.iter().any(|(p, _)| p == "/mod/lti/services.php/2/lineitems/1/lineitem/results?type_id=3"), "{requests:?}");
        assert!(requests.iter().any(|(p, _)| p.starts_with("/mod/lti/services.php/2/lineitems/1/lineitem/results?page=1")), "{requests:?}");

        let assessments = app.store.assessments(course).await.unwrap();
        assert_eq!(assessments.len(), 3);
        let essay = assessments.iter().find(|a| a.name == "Essay").unwrap();
        assert_eq!(essay.lms_id, mock.line_item_url(2));
        assert_eq!(essay.points_possible, Some(20.0));
        assert_eq!(essay.due_at.map(|d| d.0), Some(DUE_MS));
        let events = app.store.course_events(course).await.unwrap();
        assert_eq!(events.len(), 2, "one submission event per line item with an end date");
        let essay_event = events.iter().find(|e| e.title == "Essay").unwrap();
        assert_eq!((essay_event.kind.as_str(), essay_event.source.as_str()), ("submission", "ags"));
        assert_eq!((essay_event.starts_at.map(|t| t.0), essay_event.ends_at.map(|t| t.0)), (Some(OPENS_MS), Some(DUE_MS)));

        let grades = app.store.course_grades(course).await.unwrap();
        assert_eq!(grades.len(), 4);
        let s1 = user_id(&app, &platform, "s1").await;
        let essay_grade = grades.iter().find(|g| g.assessment_id == essay.id && g.user_id == s1).unwrap();
        assert_eq!(essay_grade.score, Some(10.0), "50/100 on a 20-point line item");

        let line = ags_status(&app, course).await.line();
        assert!(line.contains("3 line items, 4 results"), "{line}");

        // Nothing changed: a second read changes nothing and reuses the token.
        let again = ags::sync_gradebook(&app.store, &tokens, course).await.unwrap();
        assert_eq!((again.line_items.inserted, again.line_items.updated, again.grades.inserted, again.grades.updated), (0, 0, 0, 0));
        assert_eq!(mock.token_requests(), 1);
    }
}

on_both_backends! {
    async fn a_line_item_removed_between_syncs_is_marked_removed(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_gradebook(&app, &mock, &platform).await;
        seed(&mock);
        let tokens = AccessTokens::new();
        ags::sync_gradebook(&app.store, &tokens, course).await.unwrap();
        mock.lms().line_items.retain(|(n, _)| *n != 1);
        let report = ags::sync_gradebook(&app.store, &tokens, course).await.unwrap();
        assert_eq!(report.line_items.removed, 1);
        let assessments = app.store.assessments(course).await.unwrap();
        assert_eq!(assessments.len(), 3, "kept, not deleted");
        let quiz = assessments.iter().find(|a| a.name == "Quiz 1").unwrap();
        assert!(quiz.removed_at.is_some());
        assert!(assessments.iter().filter(|a| a.name != "Quiz 1").all(|a| a.removed_at.is_none()));
        let events = app.store.course_events(course).await.unwrap();
        assert_eq!(events.iter().map(|e| e.title.as_str()).collect::<Vec<_>>(), ["Essay"], "the removed item's due date is gone");
        assert_eq!(app.store.course_assessments(course).await.unwrap().len(), 2, "views leave it out");
        assert!(ags_status(&app, course).await.line().contains("2 line items"));

        // It comes back: active again.
        mock.lms().line_items.push((1, line_item("Quiz 1", 10.0, None)));
        let report = ags::sync_gradebook(&app.store, &tokens, course).await.unwrap();
        assert_eq!(report.line_items.updated, 1);
        let quiz = app.store.assessments(course).await.unwrap().into_iter().find(|a| a.name == "Quiz 1").unwrap();
        assert!(quiz.removed_at.is_none());
    }
}

on_both_backends! {
    async fn a_read_write_lineitem_scope_is_enough_to_read(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_gradebook(&app, &mock, &platform).await;
        app.store.set_course_ags_scopes(course, &[SCOPE_LINEITEM.to_string(), SCOPE_RESULT_READ.to_string()]).await.unwrap();
        seed(&mock);
        ags::sync_gradebook(&app.store, &AccessTokens::new(), course).await.unwrap();
        let scope = mock.lms().token_requests[0]["scope"].clone();
        assert!(scope.split(' ').any(|s| s == SCOPE_LINEITEM), "{scope}");
        assert!(!scope.contains(SCOPE_LINEITEM_READ), "{scope}");
    }
}

/// A fault, what error it must cause, and what the status line says.
type Fault = (
    Box<dyn Fn(&MockServices)>,
    fn(&ServiceError) -> bool,
    &'static str,
);

on_both_backends! {
    async fn every_gradebook_failure_becomes_a_clear_status(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_gradebook(&app, &mock, &platform).await;
        seed(&mock);
        ags::sync_gradebook(&app.store, &AccessTokens::new(), course).await.unwrap();

        let fault = |status: u16, body: Value| -> Box<dyn Fn(&MockServices)> {
            Box::new(move |m: &MockServices| m.lms().service_fault = Some((status, body.clone())))
        };
        let faults: Vec<Fault> = vec![
            (fault(403, json!({})), |e| matches!(e, ServiceError::Forbidden), "HTTP 403"),
            (fault(404, json!({})), |e| matches!(e, ServiceError::NotFound), "HTTP 404"),
            (fault(200, json!({"lineItems": []})), |e| matches!(e, ServiceError::Malformed(_)), "malformed"),
            (fault(200, json!([{"label": "no id"}])), |e| matches!(e, ServiceError::Malformed(_)), "line item container is not valid"),
            (
                Box::new(|m: &MockServices| m.lms().content_type = Some("text/html; charset=utf-8".into())),
                |e| matches!(e, ServiceError::WrongContentType { .. }),
                "content type \"text/html; charset=utf-8\"",
            ),
            (
                Box::new(|m: &MockServices| m.lms().token_answer = Some((400, json!({"error": "invalid_scope"})))),
                |e| matches!(e, ServiceError::Token(TokenError::ScopeNotGranted(_))),
                "scope not granted by the LMS admin",
            ),
            (
                Box::new(|m: &MockServices| {
                    let mut lms = m.lms();
                    lms.issued.clear();
                    lms.token_answer = Some((200, json!({"access_token": "revoked", "expires_in": 3600})));
                }),
                |e| matches!(e, ServiceError::Unauthorized),
                "HTTP 401",
            ),
        ];
        for (apply, is_expected, says) in faults {
            apply(&mock);
            let error = ags::sync_gradebook(&app.store, &AccessTokens::new(), course).await.unwrap_err();
            assert!(is_expected(&error), "{says}: {error:?}");
            let status = ags_status(&app, course).await;
            assert!(!status.ok());
            assert!(status.line().contains("Grade items (LTI Assignment and Grade Services): not updated"), "{}", status.line());
            assert!(status.line().contains(says), "{}", status.line());
            assert!(status.last_success_at.is_some(), "the last success is kept");
            let mut lms = mock.lms();
            lms.service_fault = None;
            lms.content_type = None;
            lms.token_answer = None;
        }
        assert_eq!(app.store.assessments(course).await.unwrap().iter().filter(|a| a.removed_at.is_none()).count(), 3, "a failed read removes nothing");

        // The launch's claim lacks the results scope: no request is made.
        app.store.set_course_ags_scopes(course, &[SCOPE_LINEITEM_READ.to_string()]).await.unwrap();
        let before = mock.lms().requests.len();
        let error = ags::sync_gradebook(&app.store, &AccessTokens::new(), course).await.unwrap_err();
        assert!(matches!(error, ServiceError::Token(TokenError::ScopeNotGranted(ref s)) if s.contains(SCOPE_RESULT_READ)), "{error:?}");
        assert_eq!(mock.lms().requests.len(), before);
        let line = ags_status(&app, course).await.line();
        assert!(line.contains("scope not granted by the LMS admin") && line.contains("result.readonly"), "{line}");
    }
}

on_both_backends! {
    async fn a_launch_stores_the_grade_service_claim_and_queues_its_read(backend: Backend) {
        let app = crate::app_on!(backend);
        let (platform_mock, _) = crate::lti_platform::MockPlatform::start(&app, "https://lms.example", "client-1").await;
        let with_ags = |claims: &mut Value| {
            claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = json!({
                "lineitems": "https://lms.example/mod/lti/services.php/2/lineitems?type_id=3",
                "lineitem": "https://lms.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=3",
                "scope": [SCOPE_LINEITEM_READ, SCOPE_RESULT_READ]
            });
        };
        let launched = crate::lti_platform::launch_with(&app, &platform_mock, with_ags).await;
        assert_eq!(launched.status(), 303);
        let job = app.store.claim_job("w1").await.unwrap().expect("a services read is queued");
        assert_eq!(job.kind, cloop::jobs::LTI_ROSTER);
        let course: CourseId = job.dedupe_key.parse().unwrap();
        let (roster, line_items) = app.store.course_service_urls(course).await.unwrap();
        assert_eq!(roster, None);
        assert_eq!(line_items.as_deref(), Some("https://lms.example/mod/lti/services.php/2/lineitems?type_id=3"));
        assert_eq!(app.store.course_ags_scopes(course).await.unwrap(), Some(format!("{SCOPE_LINEITEM_READ} {SCOPE_RESULT_READ}")));
        app.store.record_service_success(course, ags::SERVICE, "0 line items, 0 results", None).await.unwrap();
        app.store.complete_job(job.id).await.unwrap();
        let again = crate::lti_platform::launch_with(&app, &platform_mock, with_ags).await;
        assert_eq!(again.status(), 303);
        assert!(app.store.claim_job("w1").await.unwrap().is_none(), "read within the interval: none queued");
        assert!(cloop::jobs::enqueue_roster_sync_if_due(&app.store, course, Duration::ZERO).await.unwrap());
    }
}

on_both_backends! {
    async fn a_worker_reads_the_gradebook_of_a_course_without_a_roster_service(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_gradebook(&app, &mock, &platform).await;
        seed(&mock);
        let options = cloop::jobs::JobsOptions::from_config(&app.state.config);
        assert_eq!(cloop::jobs::schedule_syncs(&app.store, &options).await.unwrap(), 1);
        assert!(cloop::jobs::run_one_job(&app.store, &app.state.secret, &options, "w1").await.unwrap());
        let statuses = status(&app.store, course).await.unwrap();
        assert_eq!(statuses.len(), 1, "no roster read without a roster service: {statuses:?}");
        assert!(statuses[0].ok() && statuses[0].service == "ags", "{statuses:?}");
        assert_eq!(app.store.assessments(course).await.unwrap().len(), 3);
        assert_eq!(cloop::jobs::schedule_syncs(&app.store, &options).await.unwrap(), 0);
    }
}

on_both_backends! {
    async fn staff_see_the_gradebook_status_on_the_course_page(backend: Backend) {
        let app = crate::app_on!(backend);
        let (platform_mock, _) = crate::lti_platform::MockPlatform::start(&app, "https://lms.example", "client-1").await;
        let launched = crate::lti_platform::launch_with(&app, &platform_mock, |_| {}).await;
        let location = launched.headers()["location"].to_str().unwrap().to_string();
        let course: CourseId = location.split('?').next().unwrap().trim_start_matches("/courses/").parse().unwrap();
        app.store.record_service_success(course, ags::SERVICE, "12 line items, 340 results", None).await.unwrap();
        let body = app.client.get(app.url(&location)).send().await.unwrap().text().await.unwrap();
        assert!(body.contains("Grade items (LTI Assignment and Grade Services): 12 line items, 340 results."), "{body}");
    }
}
