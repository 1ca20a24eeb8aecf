//! No secret reaches a log line, whatever the level. Attacks and expected refusals:
//! - a course session token in `?s=` (and a cookie) → the request log shows `s=[redacted]`;
//! - the one-time admin login link's `token`, the admin token in `?a=` → redacted;
//! - a registration invite and the LMS's `registration_token` → redacted;
//! - the launch's `state`, `nonce` and `id_token`, Blackboard's one-time session token, the
//!   authorization callback's `code` and `state` → never logged;
//! - the REST application secret → never logged, even when a request fails.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use cloop::Config;
use cloop::store::EpochMs;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::blackboard_3lo::{callback, click, consent, launched};
use crate::lti_platform::{MockPlatform, login, post_launch};
use crate::lti_registration::{FakeLms, REGISTRATION_TOKEN};
use crate::{app_on, on_both_backends};

/// Every line logged on one test's thread, kept for the test to search.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURING: RefCell<Option<CapturedLog>> = const { RefCell::new(None) };
}

impl CapturedLog {
    /// Captures every event at every level logged on this thread until the guard drops. A
    /// test's runtime runs on its one thread, so that is everything its server logs. One
    /// process-wide subscriber serves all such tests (a thread's own default subscriber
    /// misses call sites whose interest other threads cached first).
    fn start() -> (Self, impl Drop) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(ThreadWriter)
                .with_filter(filter_fn(|_| CAPTURING.with(|c| c.borrow().is_some())));
            tracing_subscriber::registry().with(layer).init();
        });
        let log = CapturedLog::default();
        CAPTURING.with(|c| *c.borrow_mut() = Some(log.clone()));
        struct Stop;
        impl Drop for Stop {
            fn drop(&mut self) {
                CAPTURING.with(|c| *c.borrow_mut() = None);
            }
        }
        (log, Stop)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Writes to the log of the thread that logs, if it captures.
struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|c| {
            if let Some(log) = c.borrow().as_ref() {
                log.0.lock().unwrap().extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for ThreadWriter {
    type Writer = ThreadWriter;

    fn make_writer(&'a self) -> Self::Writer {
        ThreadWriter
    }
}

fn query_value(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} in {url}"))
}

on_both_backends! {
    async fn no_secret_of_a_launch_login_registration_or_callback_is_logged(backend: Backend) {
        let (log, _capture) = CapturedLog::start();
        let app = app_on!(backend);
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

        let text = log.text();
        std::fs::write(format!("/tmp/seclog-{backend:?}.txt"), &text).unwrap();
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
