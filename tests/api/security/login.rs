//! Attacks on the LTI login and launch, and the refusal each meets:
//! - login CSRF with `platform_state` = `state` for a login that never used platform
//!   storage → 401 "did not come from the browser" (finding 5);
//! - the same forged form posted from another site for a platform-storage login → 401;
//! - a state cloop did not sign (made up, or tampered with) → 401 "unknown or expired";
//! - a flood of anonymous logins → no row written anywhere (finding 7a);
//! - launches naming made-up `kid`s, then a genuine key rotation → the new key is accepted
//!   within a second, with the platform's JWKS fetched a bounded number of times (finding 6).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;

use crate::helpers::{TestApp, count_rows};
use crate::lti_platform::{MockPlatform, login, post_launch};
use crate::{app_on, on_both_backends};

const ISSUER: &str = "https://blackboard.com";
const NOT_BOUND: &str = "did not come from the browser that started the login";

/// A login that offers platform storage: cloop answers with the page that puts the state
/// there. Returns the state and nonce it sealed.
async fn storage_login(app: &TestApp, mock: &MockPlatform) -> (String, String) {
    let response = app
        .client
        .get(app.url("/lti/login"))
        .query(&[
            ("iss", mock.issuer.as_str()),
            ("login_hint", "hint"),
            ("target_link_uri", &app.url("/lti/launch")),
            ("client_id", &mock.client_id),
            ("lti_storage_target", "post_message_forwarding"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let attribute = |name: &str| {
        body.split(&format!("{name}=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&")
    };
    let redirect = url::Url::parse(&attribute("data-redirect")).unwrap();
    let nonce = redirect
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .unwrap()
        .1
        .to_string();
    (attribute("data-value"), nonce)
}

/// The launch form as cloop's bridge page would post it, with the given fetch headers.
async fn post_with_platform_state(
    app: &TestApp,
    token: &str,
    state: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app.client.post(app.url("/lti/launch")).form(&[
        ("id_token", token),
        ("state", state),
        ("platform_state", state),
    ]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn refused(response: reqwest::Response, says: &str) {
    assert_eq!(response.status(), 401);
    let body = response.text().await.unwrap();
    assert!(body.contains(says), "expected {says:?} in {body}");
}

on_both_backends! {
    async fn platform_state_is_no_proof_for_a_login_without_platform_storage(backend: Backend) {
        let app = app_on!(backend);
        let (mock, _) = MockPlatform::start(&app, ISSUER, "client-1").await;
        // The attacker logs in through their own LMS account, with no storage target, and
        // makes the victim's browser post their token with platform_state = state.
        let login = login(&app, &mock).await;
        let token = mock.sign(&mock.claims(&app, &login.nonce));
        let response = post_with_platform_state(&app, &token, &login.state, &[]).await;
        refused(response, NOT_BOUND).await;
        assert_eq!(count_rows(&app.store, "users").await, 0);
    }
}

on_both_backends! {
    async fn platform_storage_binds_only_when_cloops_own_page_posts_it(backend: Backend) {
        let app = app_on!(backend);
        let (mock, _) = MockPlatform::start(&app, ISSUER, "client-1").await;
        let (state, nonce) = storage_login(&app, &mock).await;
        let token = mock.sign(&mock.claims(&app, &nonce));
        let cross_site = [("origin", "https://attacker.example"), ("sec-fetch-site", "cross-site")];
        refused(post_with_platform_state(&app, &token, &state, &cross_site).await, NOT_BOUND).await;
        let origin_only = [("origin", "https://attacker.example")];
        refused(post_with_platform_state(&app, &token, &state, &origin_only).await, NOT_BOUND).await;

        let ours = app.url("");
        let same_origin = [("origin", ours.as_str()), ("sec-fetch-site", "same-origin")];
        let response = post_with_platform_state(&app, &token, &state, &same_origin).await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
    }
}

on_both_backends! {
    async fn a_state_cloop_did_not_sign_is_refused(backend: Backend) {
        let app = app_on!(backend);
        let (mock, _) = MockPlatform::start(&app, ISSUER, "client-1").await;
        let login = login(&app, &mock).await;
        let token = mock.sign(&mock.claims(&app, &login.nonce));
        let (payload, tag) = login.state.split_once('.').unwrap();
        let tampered = format!("{payload}A.{tag}");
        for state in ["made-up-state", tampered.as_str()] {
            let cookie = format!("cloop_state_{state}=1");
            let response = post_launch(&app, &token, Some(state), Some(&cookie)).await;
            refused(response, "state is unknown or expired").await;
        }
        assert_eq!(count_rows(&app.store, "users").await, 0);
    }
}

/// Rows in every table of the database.
async fn rows_per_table(app: &TestApp) -> HashMap<String, i64> {
    let tables: Vec<String> = match &app.store {
        cloop::Store::Sqlite(db) => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap(),
        cloop::Store::Postgres(cloop::store::PostgresDb { pool, .. }) => sqlx::query_scalar(
            "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = current_schema()",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    let mut rows = HashMap::new();
    for table in tables {
        let count = count_rows(&app.store, &table).await;
        rows.insert(table, count);
    }
    rows
}

on_both_backends! {
    async fn a_thousand_anonymous_logins_write_nothing(backend: Backend) {
        let app = app_on!(backend);
        let (mock, _) = MockPlatform::start(&app, ISSUER, "client-1").await;
        let before = rows_per_table(&app).await;
        assert!(before.contains_key("used_nonces"), "{before:?}");
        let mut last = None;
        for _ in 0..50 {
            let wave = (0..20).map(|_| login(&app, &mock));
            last = futures_util::future::join_all(wave).await.pop();
        }
        assert_eq!(rows_per_table(&app).await, before, "logins leave every table as it was");

        // The logins still work: the last one launches.
        let login = last.unwrap();
        let token = mock.sign(&mock.claims(&app, &login.nonce));
        let response = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
        assert_eq!(count_rows(&app.store, "used_nonces").await, 1);
    }
}

on_both_backends! {
    async fn made_up_kids_cannot_hold_off_a_rotated_key(backend: Backend) {
        let app = app_on!(backend);
        let (mut mock, _) = MockPlatform::start(&app, ISSUER, "client-1").await;
        let first = crate::lti_platform::launch_with(&app, &mock, |_| {}).await;
        assert_eq!(first.status(), 303);
        let genuine = login(&app, &mock).await;

        // Waves of launches naming kids nobody published, new ones and repeats.
        let stranger = cloop::lti::keys::generate().unwrap();
        let started = Instant::now();
        for wave in 0..4 {
            let forged: Vec<String> = (0..25)
                .map(|i| {
                    let kid = format!("forged-{}", (wave * 25 + i) % 40);
                    mock.sign_with(&mock.claims(&app, "n"), &stranger, Some(&kid), Algorithm::RS256)
                })
                .collect();
            let launches = forged.iter().map(|t| post_launch(&app, t, Some("s"), None));
            for response in futures_util::future::join_all(launches).await {
                assert_eq!(response.status(), 401);
            }
        }
        let flood = started.elapsed();

        mock.rotate(true);
        let rotated = Instant::now();
        let token = mock.sign(&mock.claims(&app, &genuine.nonce));
        let response = post_launch(&app, &token, Some(&genuine.state), Some(&genuine.cookie)).await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
        assert!(rotated.elapsed() < Duration::from_secs(1), "took {:?}", rotated.elapsed());

        // At most two refetches a second, whatever the number of forged launches.
        let allowed = 2 + (flood.as_millis() / 500) as usize + 1;
        assert!(
            mock.jwks_fetches() <= allowed,
            "{} fetches for 100 forged launches in {flood:?}",
            mock.jwks_fetches()
        );
    }
}
