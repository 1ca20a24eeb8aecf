//! No secret reaches a log line, whatever the level. Attacks and expected refusals:
//! - a course session token in `?s=` (and a cookie) → the request log shows `s=[redacted]`;
//! - the one-time admin login link's `token`, the admin token in `?a=` → redacted;
//! - a registration invite and the LMS's `registration_token` → redacted;
//! - the launch's `state`, `nonce` and `id_token`, Blackboard's one-time session token, the
//!   authorization callback's `code` and `state` → never logged;
//! - the REST application secret → never logged, even when a request fails.

use std::process::Stdio;

use cloop::Config;
use cloop::store::EpochMs;

use crate::blackboard_3lo::{callback, click, consent, launched};
use crate::cli::{cloop, free_port, terminate, wait_healthy};
use crate::helpers::{TestDatabase, app_beside_process};
use crate::lti_platform::{MockPlatform, login, post_launch};
use crate::lti_registration::{FakeLms, REGISTRATION_TOKEN};
use crate::{app_on, on_both_backends};

fn query_value(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} in {url}"))
}

on_both_backends! {
    async fn no_secret_of_a_launch_login_registration_or_callback_is_logged(backend: Backend) {
        // The real binary, logging at every level to a file, as an operator runs it.
        let Some(database) = TestDatabase::fresh(backend, module_path!()).await else { return };
        let database_url = database.url.clone();
        let port = free_port();
        let app = app_beside_process(database, port).await;
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("cloop.log");
        let mut server = cloop(dir.path())
            .args(["serve", "--no-jobs"])
            .env("RUST_LOG", "trace")
            .env("CLOOP_DATABASE_URL", &database_url)
            .env("CLOOP_LISTEN", format!("127.0.0.1:{port}"))
            .env("CLOOP_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .env("CLOOP_ALLOW_PRIVATE_URLS", "true")
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
            .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
            .spawn()
            .unwrap();
        wait_healthy(port, &mut server).await;
        let mut secrets: Vec<String> = Vec::new();

        // A launch, its state, nonce and id_token, and the session it opens.
        let (mock, _) = MockPlatform::start(&app, "https://moodle.example.edu", "moodle-1").await;
        let login = login(&app, &mock).await;
        let id_token = mock.sign(&mock.claims(&app, &login.nonce));
        let launch = post_launch(&app, &id_token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(launch.status(), 303);
        let landing = launch.headers()["location"].to_str().unwrap().to_string();
        let session = landing.split_once("?s=").unwrap().1.to_string();
        let course_page = app.client.get(app.url(&landing)).send().await.unwrap();
        assert_eq!(course_page.status(), 200);
        let csv = app.client.get(app.url(&format!("{landing}&csv=courses"))).send().await.unwrap();
        assert!(csv.status().is_success() || csv.status() == 404);
        let other_course = app.client.get(app.url(&format!("/courses/999999?s={session}"))).send().await.unwrap();
        assert_eq!(other_course.status(), 403, "a refusal is logged too");
        secrets.extend([login.state.clone(), login.nonce.clone(), id_token.clone(), session.clone()]);
        secrets.push(id_token.rsplit('.').next().unwrap().to_string());

        // The one-time admin login link and the admin session it opens.
        let mut config = Config::for_database("sqlite://unused.db");
        config.public_url = url::Url::parse(&app.url("/")).unwrap();
        let link = cloop::web::admin::create_login_link(&app.store, &config, "ops@example.edu").await.unwrap();
        let link_token = query_value(&url::Url::parse(&link).unwrap(), "token");
        let admin = app.client.get(&link).send().await.unwrap();
        assert_eq!(admin.status(), 303);
        let cookie = admin.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let admin_token = cookie.split_once('=').unwrap().1.to_string();
        let by_param = app.client.get(app.url(&format!("/admin/platforms?a={admin_token}"))).send().await.unwrap();
        assert_eq!(by_param.status(), 200);
        let used_again = app.client.get(&link).send().await.unwrap();
        assert_eq!(used_again.status(), 401);
        secrets.extend([link_token, admin_token]);

        // Dynamic registration with an invite and the LMS's registration token.
        let lms = FakeLms::start().await;
        let invite = cloop::lti::invite::invite(&app.state.secret, EpochMs::now().plus_secs(600));
        let registered = app
            .client
            .get(app.url("/lti/register"))
            .query(&[
                ("invite", invite.as_str()),
                ("openid_configuration", lms.configuration_url().as_str()),
                ("registration_token", REGISTRATION_TOKEN),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), 200, "{:?}", registered.text().await);
        let refused = app.client.get(app.url(&format!("/lti/register?invite=forged-{invite}"))).send().await.unwrap();
        assert_eq!(refused.status(), 403);
        secrets.extend([invite, REGISTRATION_TOKEN.to_string()]);

        // Blackboard's one-time session token, then the authorization code callback.
        let flow = launched(&app).await;
        let (target, state_cookie) = click(&app, &flow).await;
        let back = consent(&app, &target).await;
        let done = callback(&app, &back, &state_cookie).await;
        assert!(done.status().is_redirection() || done.status().is_success(), "{}", done.status());
        secrets.extend([
            "ott-launch-1".to_string(),
            query_value(&back, "code"),
            query_value(&back, "state"),
            state_cookie.split_once('=').unwrap().1.to_string(),
            flow.page.split("s=").nth(1).unwrap().to_string(),
            crate::blackboard_fake::SECRET.to_string(),
        ]);

        terminate(server);
        let text = std::fs::read_to_string(&log_path).unwrap()
            + &std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
        assert!(text.contains("s=[redacted]") || text.contains("s=%5Bredacted%5D"), "the request log is captured: {text}");
        assert!(text.contains("/lti/register"), "{text}");
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            assert!(!text.contains(secret.as_str()), "a secret reached the log: {secret}");
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            assert!(!text.contains(&encoded), "a secret reached the log, URL-encoded: {secret}");
        }
    }
}

on_both_backends! {
    async fn pages_that_carry_a_session_are_never_cached(backend: Backend) {
        let app = app_on!(backend);
        let (mock, _) = MockPlatform::start(&app, "https://moodle.example.edu", "moodle-1").await;
        let launch = crate::lti_platform::launch_with(&app, &mock, |_| {}).await;
        assert_eq!(launch.status(), 303);
        assert_eq!(launch.headers()["cache-control"], "no-store", "the launch's redirect carries the token");
        let landing = launch.headers()["location"].to_str().unwrap().to_string();
        let (path, _) = landing.split_once('?').unwrap();
        for view in ["", "/courses", "/content", "/students", "/events", "/settings", "/help"] {
            let page = app.client.get(app.url(&landing.replacen(path, &format!("{path}{view}"), 1))).send().await.unwrap();
            assert_eq!(page.status(), 200, "{view}");
            assert_eq!(page.headers()["cache-control"], "no-store", "{view}");
        }
        let cookie = crate::sync_admin::admin_cookie(&app).await;
        for page in ["/admin", "/admin/platforms", "/admin/sync", "/admin/import"] {
            let response = app.client.get(app.url(page)).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(response.status(), 200, "{page}");
            assert_eq!(response.headers()["cache-control"], "no-store", "{page}");
        }
        let stylesheet = app.client.get(app.url("/static/cloop.css")).send().await.unwrap();
        assert!(stylesheet.headers()["cache-control"].to_str().unwrap().starts_with("public"), "static files stay cacheable");
    }
}
