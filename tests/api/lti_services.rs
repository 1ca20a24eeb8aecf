//! LTI Advantage services against the mock platform: access tokens (one request for many
//! calls, expiry, the client assertion verified with cloop's JWKS, refusals) and the roster
//! (paging with a query string, members who leave, differences, failure modes).

use std::time::Duration;

use cloop::lti::services::nrps::{self, RosterReport};
use cloop::lti::services::token::{SCOPE_LINEITEM_READ, SCOPE_NRPS, client_assertion};
use cloop::lti::services::{AccessTokens, ServiceError, TokenError, status};
use cloop::store::CourseId;
use cloop::store::courses::CourseUpsert;
use cloop::store::platforms::Platform;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::lti_services_mock::{MockServices, member};
use crate::on_both_backends;

/// An LMS answer (status, body), a test of the error it must cause, and what its message says.
type Case<E> = (u16, Value, fn(&E) -> bool, &'static str);

pub async fn course_with_roster(
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
                lms_context_id: "ctx-1".into(),
                title: "Ecology".into(),
                code: "ECOL101".into(),
                ..CourseUpsert::default()
            },
        )
        .await
        .unwrap();
    let roster = format!("{}/nrps/ctx-1/members?placement_id=_9_1", mock.base);
    let line_items = format!("{}/mod/lti/services.php/2/lineitems?type_id=3", mock.base);
    app.store
        .set_course_service_urls(course.id, Some(&roster), Some(&line_items))
        .await
        .unwrap();
    course.id
}

async fn enrolment_of(
    app: &TestApp,
    platform: &Platform,
    course: CourseId,
    sub: &str,
) -> cloop::store::users::Enrolment {
    let user = app
        .store
        .upsert_user(
            platform.id,
            &cloop::store::users::UserUpsert {
                lms_sub: sub.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.store
        .enrolment(course, user.id)
        .await
        .unwrap()
        .expect("enrolled")
}

on_both_backends! {
    async fn one_token_request_serves_many_calls_and_its_assertion_verifies(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let tokens = AccessTokens::new();
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(tokens.token(&app.store, &platform, &[SCOPE_NRPS]).await.unwrap());
        }
        assert_eq!(mock.token_requests(), 1, "one token request for five calls");
        assert!(seen.iter().all(|t| t == "token-1"));
        // The same scopes in another order share the token; other scopes get their own.
        tokens.token(&app.store, &platform, &[SCOPE_LINEITEM_READ, SCOPE_NRPS]).await.unwrap();
        tokens.token(&app.store, &platform, &[SCOPE_NRPS, SCOPE_LINEITEM_READ]).await.unwrap();
        assert_eq!(mock.token_requests(), 2);

        let form = mock.lms().token_requests[0].clone();
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        assert_eq!(form["scope"], SCOPE_NRPS);
        let jwks: JwkSet = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        let header = jsonwebtoken::decode_header(&form["client_assertion"]).unwrap();
        let kid = header.kid.expect("the assertion names its key");
        let jwk = jwks.find(&kid).expect("the key is published");
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[platform.token_url.as_str()]);
        validation.set_issuer(&["services-client"]);
        let claims = jsonwebtoken::decode::<Value>(&form["client_assertion"], &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "services-client");
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!((1..=300).contains(&lifetime), "{lifetime}");
    }
}

on_both_backends! {
    async fn an_expiring_token_is_fetched_again(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        mock.lms().expires_in = 1;
        let tokens = AccessTokens::new();
        let first = tokens.token(&app.store, &platform, &[SCOPE_NRPS]).await.unwrap();
        assert_eq!(tokens.token(&app.store, &platform, &[SCOPE_NRPS]).await.unwrap(), first);
        assert_eq!(mock.token_requests(), 1);
        tokio::time::sleep(Duration::from_millis(700)).await;
        let second = tokens.token(&app.store, &platform, &[SCOPE_NRPS]).await.unwrap();
        assert_ne!(second, first, "a token in its last half-life is replaced");
        assert_eq!(mock.token_requests(), 2);
    }
}

on_both_backends! {
    async fn a_fixed_token_audience_is_the_assertions_aud(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, Some("https://api.brightspace.com/auth/token")).await;
        let assertion = client_assertion(&app.store, &platform).await.unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, assertion.split('.').nth(1).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(claims["aud"], "https://api.brightspace.com/auth/token");
    }
}

on_both_backends! {
    async fn token_refusals_are_typed_errors(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let cases: Vec<Case<TokenError>> = vec![
            (400, json!({"error": "invalid_scope"}), |e| matches!(e, TokenError::ScopeNotGranted(_)), "scope not granted by the LMS admin"),
            (401, json!({"error": "invalid_client", "error_description": "unknown kid"}), |e| matches!(e, TokenError::ClientRejected(_)), "unknown kid"),
            (400, json!({"error": "invalid_request"}), |e| matches!(e, TokenError::Refused { status: 400, .. }), "HTTP 400"),
            (200, json!({"token_type": "Bearer"}), |e| matches!(e, TokenError::Malformed(_)), "no access_token"),
        ];
        for (status, body, is_expected, says) in cases {
            mock.lms().token_answer = Some((status, body.clone()));
            let error = AccessTokens::new().token(&app.store, &platform, &[SCOPE_NRPS]).await.unwrap_err();
            assert!(is_expected(&error), "{status} {body}: {error:?}");
            assert!(error.to_string().contains(says), "{error}");
        }
        mock.lms().token_answer = None;
        mock.lms().granted = Some(SCOPE_LINEITEM_READ.into());
        let error = AccessTokens::new().token(&app.store, &platform, &[SCOPE_NRPS, SCOPE_LINEITEM_READ]).await.unwrap_err();
        assert!(matches!(&error, TokenError::ScopeNotGranted(s) if s == SCOPE_NRPS), "{error:?}");
    }
}

on_both_backends! {
    async fn roster_reads_three_pages_of_a_url_with_a_query_string(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_roster(&app, &mock, &platform).await;
        mock.lms().members = vec![
            member("teacher", "Instructor", "Active"),
            member("s1", "Learner", "Active"),
            member("s2", "Learner", "Active"),
            member("s3", "Learner", "Inactive"),
            member("s4", "Learner", "Active"),
        ];
        let tokens = AccessTokens::new();
        let report = nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        assert_eq!(report, RosterReport { counts: cloop::store::sync_runs::SyncCounts { inserted: 5, updated: 0, removed: 0 }, members: 5, pages: 3, differences: false });
        assert_eq!(mock.token_requests(), 1, "one token for three pages");
        let requests = mock.lms().requests.clone();
        assert_eq!(requests.len(), 3);
        for (path, accept) in &requests {
            assert!(path.contains("placement_id=_9_1"), "{path}");
            assert_eq!(accept, nrps::MEDIA_TYPE);
        }
        let teacher = enrolment_of(&app, &platform, course, "teacher").await;
        assert!(teacher.is_staff && teacher.active);
        assert_eq!((teacher.roles.as_str(), teacher.source.as_str()), ("Instructor", "nrps"));
        let s1 = enrolment_of(&app, &platform, course, "s1").await;
        assert!(!s1.is_staff && s1.active);
        assert_eq!(s1.roles, "Learner");
        let statuses = status(&app.store, course).await.unwrap();
        assert_eq!(statuses.len(), 1);
        assert!(statuses[0].ok(), "{:?}", statuses[0]);
        assert!(statuses[0].line().contains("5 members read"), "{}", statuses[0].line());
    }
}

on_both_backends! {
    async fn a_member_removed_between_syncs_is_marked_inactive(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_roster(&app, &mock, &platform).await;
        mock.lms().members = vec![
            member("teacher", "Instructor", "Active"),
            member("s1", "Learner", "Active"),
            member("s2", "Learner", "Active"),
        ];
        let tokens = AccessTokens::new();
        nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        mock.lms().members.remove(1);
        let report = nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        assert_eq!(report.counts.removed, 1);
        assert_eq!(report.counts.inserted + report.counts.updated, 0, "nothing else changed");
        assert!(!enrolment_of(&app, &platform, course, "s1").await.active, "s1 left: inactive, not deleted");
        assert!(enrolment_of(&app, &platform, course, "s2").await.active);
        // Coming back makes them active again.
        mock.lms().members.push(member("s1", "Learner", "Active"));
        let report = nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        assert_eq!(report.counts.updated, 1);
        assert!(enrolment_of(&app, &platform, course, "s1").await.active);
    }
}

on_both_backends! {
    async fn later_syncs_read_only_the_differences_when_offered(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_roster(&app, &mock, &platform).await;
        {
            let mut lms = mock.lms();
            lms.offer_differences = true;
            lms.members = vec![
                member("teacher", "Instructor", "Active"),
                member("s1", "Learner", "Active"),
                member("s2", "Learner", "Active"),
            ];
        }
        let tokens = AccessTokens::new();
        assert!(!nrps::sync_roster(&app.store, &tokens, course).await.unwrap().differences);
        {
            let mut lms = mock.lms();
            lms.requests.clear();
            lms.changes = vec![member("s1", "Learner", "Deleted"), member("s5", "Learner", "Active")];
        }
        let report = nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        assert!(report.differences);
        assert_eq!((report.pages, report.members), (1, 2));
        assert_eq!((report.counts.inserted, report.counts.removed), (1, 1));
        assert!(mock.lms().requests[0].0.contains("since=42"), "{:?}", mock.lms().requests);
        assert!(!enrolment_of(&app, &platform, course, "s1").await.active);
        assert!(enrolment_of(&app, &platform, course, "s2").await.active, "not in the differences: untouched");
        assert!(enrolment_of(&app, &platform, course, "s5").await.active);
    }
}

on_both_backends! {
    async fn roster_failures_become_the_courses_data_source_status(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_roster(&app, &mock, &platform).await;
        mock.lms().members = vec![member("s1", "Learner", "Active")];
        let faults: Vec<Case<ServiceError>> = vec![
            (403, json!({}), |e| matches!(e, ServiceError::Forbidden), "HTTP 403"),
            (404, json!({}), |e| matches!(e, ServiceError::NotFound), "HTTP 404"),
            (500, json!({}), |e| matches!(e, ServiceError::Status(500)), "HTTP 500"),
            (200, json!({"id": "x"}), |e| matches!(e, ServiceError::Malformed(_)), "malformed"),
            (200, json!({"members": [{"roles": []}]}), |e| matches!(e, ServiceError::Malformed(_)), "malformed"),
        ];
        for (code, body, is_expected, says) in faults {
            mock.lms().service_fault = Some((code, body.clone()));
            let error = nrps::sync_roster(&app.store, &AccessTokens::new(), course).await.unwrap_err();
            assert!(is_expected(&error), "{code} {body}: {error:?}");
            let line = status(&app.store, course).await.unwrap()[0].line();
            assert!(line.contains(says) && line.contains("not updated"), "{line}");
        }
        mock.lms().service_fault = None;

        // A token the LMS stops accepting is replaced once, then reported.
        let tokens = AccessTokens::new();
        nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        mock.lms().issued.clear();
        mock.lms().token_answer = Some((200, json!({"access_token": "revoked", "expires_in": 3600})));
        let before = mock.token_requests();
        let error = nrps::sync_roster(&app.store, &tokens, course).await.unwrap_err();
        assert!(matches!(error, ServiceError::Unauthorized), "{error:?}");
        assert_eq!(mock.token_requests(), before + 1, "one fresh token after a 401");

        mock.lms().token_answer = Some((400, json!({"error": "invalid_scope"})));
        let error = nrps::sync_roster(&app.store, &AccessTokens::new(), course).await.unwrap_err();
        assert!(matches!(error, ServiceError::Token(TokenError::ScopeNotGranted(_))), "{error:?}");
        let statuses = status(&app.store, course).await.unwrap();
        assert!(!statuses[0].ok());
        assert!(statuses[0].line().contains("scope not granted by the LMS admin"), "{}", statuses[0].line());
        assert!(statuses[0].last_success_at.is_some(), "the last success is kept");

        let other = app
            .store
            .upsert_course(platform.id, crate::helpers::deployment(&app.store, platform.id).await, &CourseUpsert { lms_context_id: "ctx-2".into(), ..CourseUpsert::default() })
            .await
            .unwrap();
        let error = nrps::sync_roster(&app.store, &AccessTokens::new(), other.id).await.unwrap_err();
        assert!(matches!(error, ServiceError::NoEndpoint), "{error:?}");
    }
}

on_both_backends! {
    async fn a_launch_queues_a_roster_read_at_most_once_per_interval(backend: Backend) {
        let app = crate::app_on!(backend);
        let (platform_mock, _) = crate::lti_platform::MockPlatform::start(&app, "https://lms.example", "client-1").await;
        let with_roster = |claims: &mut Value| {
            claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = json!({
                "context_memberships_url": "https://lms.example/nrps/ctx-1/members?placement_id=_9_1",
                "service_versions": ["2.0"]
            });
        };
        let launched = crate::lti_platform::launch_with(&app, &platform_mock, with_roster).await;
        assert_eq!(launched.status(), 303);
        assert_eq!(crate::helpers::count_rows(&app.store, "jobs").await, 1, "a roster read is queued");
        let job = app.store.claim_job("w1").await.unwrap().expect("the queued job");
        assert_eq!(job.kind, cloop::jobs::LTI_ROSTER);
        let course: CourseId = job.dedupe_key.parse().unwrap();
        app.store.record_service_success(course, nrps::SERVICE, "1 members read", None).await.unwrap();
        app.store.complete_job(job.id).await.unwrap();

        let again = crate::lti_platform::launch_with(&app, &platform_mock, with_roster).await;
        assert_eq!(again.status(), 303);
        assert_eq!(crate::helpers::count_rows(&app.store, "jobs").await, 1, "read within the interval: none queued");
        assert!(
            cloop::jobs::enqueue_roster_sync_if_due(&app.store, course, Duration::ZERO).await.unwrap(),
            "an older roster is read again"
        );
    }
}

on_both_backends! {
    async fn a_worker_runs_the_queued_roster_read_and_the_scheduler_waits_for_the_interval(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_roster(&app, &mock, &platform).await;
        mock.lms().members = vec![member("teacher", "Instructor", "Active"), member("s1", "Learner", "Active")];
        let options = cloop::jobs::JobsOptions::from_config(&app.state.config);
        assert_eq!(cloop::jobs::schedule_syncs(&app.store, &options).await.unwrap(), 1, "the scheduler queues the roster read");
        assert!(cloop::jobs::run_one_job(&app.store, &app.state.secret, &options, "w1").await.unwrap());
        assert!(enrolment_of(&app, &platform, course, "s1").await.active);
        assert!(status(&app.store, course).await.unwrap()[0].ok());
        assert_eq!(cloop::jobs::schedule_syncs(&app.store, &options).await.unwrap(), 0, "read recently: not queued again");
    }
}

on_both_backends! {
    async fn staff_see_a_failed_roster_read_on_the_course_page(backend: Backend) {
        let app = crate::app_on!(backend);
        let (platform_mock, _) = crate::lti_platform::MockPlatform::start(&app, "https://lms.example", "client-1").await;
        let launched = crate::lti_platform::launch_with(&app, &platform_mock, |_| {}).await;
        let location = launched.headers()["location"].to_str().unwrap().to_string();
        let course: CourseId = location.split('?').next().unwrap().trim_start_matches("/courses/").parse().unwrap();
        let error = ServiceError::Token(TokenError::ScopeNotGranted(SCOPE_NRPS.into()));
        app.store.record_service_failure(course, nrps::SERVICE, &error.to_string()).await.unwrap();
        let page = app.client.get(app.url(&location)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let body = page.text().await.unwrap();
        assert!(body.contains("Class list (LTI Names and Roles): not updated"), "{body}");
        assert!(body.contains("scope not granted by the LMS admin"), "{body}");
    }
}
