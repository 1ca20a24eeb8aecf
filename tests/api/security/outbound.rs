//! URLs an LMS hands cloop in-band, and the invites that let an LMS register, with the
//! outbound guard on (`allow_private_urls = false`, the production default):
//!
//! - Dynamic registration whose `openid_configuration` is a loopback, link-local (cloud
//!   metadata, 169.254.169.254), private (10.x) or IPv4-mapped literal → 400 naming the URL
//!   and the kind of address, refused before connecting: no request reaches anything.
//! - Dynamic registration whose configuration host resolves only to loopback (`localhost`)
//!   → 400 from the resolver path, no request reaches the LMS.
//! - A launch whose NRPS `context_memberships_url` or AGS `lineitems` URL leads to a
//!   loopback name or the metadata address → the roster job refuses it without connecting
//!   and the course's data-source status says which URL and why.
//! - A service URL on another origin than the platform's registered endpoints is guarded;
//!   one on a registered origin (an LMS on the campus network) is read.
//! - One registration invite used twice, in turn or at the same moment → only one
//!   registration succeeds, the other gets 403 "already been used"; a used invite is
//!   purged once it would have expired.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cloop::lti::services::{AccessTokens, ServiceError, nrps, status};
use cloop::store::{CourseId, EpochMs};
use serde_json::json;

use crate::helpers::{Backend, TestApp, count_rows, spawn_app_with};
use crate::lti_registration::FakeLms;
use crate::lti_services_mock::{MockServices, member};
use crate::{app_on, on_both_backends};

/// The app with the guard on, as in production.
async fn guarded_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, module_path!(), |c| c.allow_private_urls = false).await
}

/// A loopback port that counts connections: anything reaching it was not refused in time.
async fn trap() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, hits)
}

async fn register(app: &TestApp, invite: &str, configuration: &str) -> reqwest::Response {
    app.client
        .get(app.url("/lti/register"))
        .query(&[
            ("invite", invite),
            ("openid_configuration", configuration),
            ("registration_token", "reg-token-1"),
        ])
        .send()
        .await
        .unwrap()
}

fn fresh_invite(app: &TestApp) -> String {
    cloop::lti::invite::invite(&app.state.secret, EpochMs::now().plus_secs(600))
}

on_both_backends! {
    async fn dynamic_registration_to_private_addresses_is_refused_before_connecting(backend: Backend) {
        let Some(app) = guarded_app(backend).await else { return };
        let lms = FakeLms::start().await;
        let port = lms.base.rsplit(':').next().unwrap().to_string();
        let invite = fresh_invite(&app);
        let cases = [
            (lms.configuration_url(), format!("{}/.well-known/openid-configuration: 127.0.0.1 is a loopback address", lms.base)),
            ("https://169.254.169.254/latest/meta-data/".to_string(), "https://169.254.169.254/latest/meta-data/: 169.254.169.254 is a link-local address (such as a cloud metadata service)".to_string()),
            ("https://10.20.30.40/.well-known/openid-configuration".to_string(), "10.20.30.40 is a private address".to_string()),
            (format!("https://[::ffff:127.0.0.1]:{port}/.well-known/openid-configuration"), "is a loopback address".to_string()),
            (format!("http://localhost:{port}/.well-known/openid-configuration"), format!("http://localhost:{port}/.well-known/openid-configuration: localhost resolves only to addresses cloop does not fetch from")),
        ];
        for (url, says) in cases {
            let started = std::time::Instant::now();
            let response = register(&app, &invite, &url).await;
            assert_eq!(response.status(), 400, "{url}");
            let body = response.text().await.unwrap();
            assert!(body.contains("cloop does not fetch") && body.contains(&says), "{url}: {body}");
            assert!(body.contains("allow_private_urls"), "says how to allow a development LMS: {body}");
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{url} was refused, not tried");
        }
        assert_eq!(lms.requests(), 0, "no request reached the LMS");
        assert_eq!(count_rows(&app.store, "platforms").await, 0);
        assert_eq!(count_rows(&app.store, "used_invites").await, 0, "the refusals gave the invite back");
    }
}

/// Claims of a launch that offers NRPS and AGS at these URLs.
fn with_services(claims: &mut serde_json::Value, roster: &str, line_items: &str) {
    claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] =
        json!({"context_memberships_url": roster, "service_versions": ["2.0"]});
    claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = json!({
        "scope": [
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        ],
        "lineitems": line_items,
    });
}

on_both_backends! {
    async fn service_urls_from_a_launch_that_lead_to_private_addresses_are_refused(backend: Backend) {
        let Some(app) = guarded_app(backend).await else { return };
        let (mock, _) = crate::lti_platform::MockPlatform::start(&app, "https://lms.example", "client-1").await;
        let (port, hits) = trap().await;
        let roster = format!("http://localhost:{port}/nrps/ctx-1/members?placement_id=_9_1");
        let line_items = "https://169.254.169.254/latest/meta-data/iam".to_string();
        let launched = crate::lti_platform::launch_with(&app, &mock, |c| with_services(c, &roster, &line_items)).await;
        assert_eq!(launched.status(), 303, "the launch itself succeeds");
        let location = launched.headers()["location"].to_str().unwrap().to_string();
        let course: CourseId = location.split('?').next().unwrap().trim_start_matches("/courses/").parse().unwrap();

        let options = cloop::jobs::JobsOptions::from_config(&app.state.config);
        while cloop::jobs::run_one_job(&app.store, &app.state.secret, &options, "w1").await.unwrap() {}
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing connected to the roster URL's port");

        let statuses = status(&app.store, course).await.unwrap();
        let line = |service: &str| statuses.iter().find(|s| s.service == service).expect(service).line();
        let roster_line = line("nrps");
        assert!(
            roster_line.contains(&format!("cloop does not fetch http://localhost:{port}/nrps/ctx-1/members: localhost resolves only to addresses cloop does not fetch from")),
            "{roster_line}"
        );
        assert!(!roster_line.contains("placement_id"), "no query string in the status: {roster_line}");
        let gradebook_line = line("ags");
        assert!(gradebook_line.contains("169.254.169.254 is a link-local address"), "{gradebook_line}");
    }
}

on_both_backends! {
    async fn only_service_urls_on_the_platforms_registered_origins_skip_the_guard(backend: Backend) {
        let Some(app) = guarded_app(backend).await else { return };
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        mock.lms().members = vec![member("teacher", "Instructor", "Active")];
        let deployment = crate::helpers::deployment(&app.store, platform.id).await;
        let course = app
            .store
            .upsert_course(platform.id, deployment, &cloop::store::courses::CourseUpsert { lms_context_id: "ctx-1".into(), ..Default::default() })
            .await
            .unwrap()
            .id;
        let tokens = AccessTokens::new();

        // The same mock by another name is another origin: guarded, refused, never asked.
        let port = mock.base.rsplit(':').next().unwrap();
        let elsewhere = format!("http://localhost:{port}/nrps/ctx-1/members?placement_id=_9_1");
        app.store.set_course_service_urls(course, Some(&elsewhere), None).await.unwrap();
        let error = nrps::sync_roster(&app.store, &tokens, course).await.unwrap_err();
        assert!(matches!(error, ServiceError::Unsafe(_)), "{error:?}");
        assert!(mock.lms().requests.is_empty() && mock.token_requests() == 0, "no request, not even for a token");

        // On the origin of the platform's registered token endpoint it is the LMS itself.
        let registered = format!("{}/nrps/ctx-1/members?placement_id=_9_1", mock.base);
        app.store.set_course_service_urls(course, Some(&registered), None).await.unwrap();
        let report = nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        assert_eq!(report.members, 1);
    }
}

on_both_backends! {
    async fn one_invite_registers_one_platform(backend: Backend) {
        let app = app_on!(backend);
        let lms = FakeLms::start().await;
        let invite = fresh_invite(&app);
        assert_eq!(register(&app, &invite, &lms.configuration_url()).await.status(), 200);
        let again = register(&app, &invite, &lms.configuration_url()).await;
        assert_eq!(again.status(), 403);
        assert!(again.text().await.unwrap().contains("already been used"));
        assert_eq!(count_rows(&app.store, "platforms").await, 1);
        assert_eq!(lms.registered.lock().unwrap().len(), 1, "the second never reached the LMS");

        // Two at the same moment: the claim is one insert, so exactly one goes through.
        let invite = fresh_invite(&app);
        let configuration = lms.configuration_url();
        let (first, second) = tokio::join!(
            register(&app, &invite, &configuration),
            register(&app, &invite, &configuration),
        );
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 403]);
        assert_eq!(count_rows(&app.store, "platforms").await, 2);
    }
}

on_both_backends! {
    async fn used_invites_are_kept_until_they_expire(backend: Backend) {
        let (_db, store) = crate::fresh_store!(backend);
        let expires = EpochMs::now().plus_secs(60);
        assert!(store.claim_invite("hash-1", expires).await.unwrap());
        assert!(!store.claim_invite("hash-1", expires).await.unwrap(), "the second use is refused");
        store.release_invite("hash-1").await.unwrap();
        assert!(store.claim_invite("hash-1", expires).await.unwrap(), "a released invite is usable again");
        assert_eq!(store.purge_used_invites(EpochMs::now()).await.unwrap(), 0, "not expired yet");
        assert_eq!(store.purge_used_invites(expires).await.unwrap(), 1);
    }
}
