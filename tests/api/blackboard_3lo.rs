//! Blackboard 3-legged REST against the fake Learn: a launch with a one-time session token
//! offers staff the authorisation; the click starts the authorization code flow with PKCE;
//! the callback stores the refresh token sealed and the course sync then runs with the
//! user's token. Refreshes are serialised; denial, bad states and failed exchanges are
//! clear errors shown on the course page.

use std::collections::HashMap;
use std::time::Duration;

use cloop::lms::blackboard::{ClientOptions, LearnClient};
use cloop::store::{CourseId, PlatformId, Store, UserId};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::blackboard_fake::{self, COURSE_UUID, FakeLearn, user_uuid};
use crate::helpers::TestApp;
use crate::lti_platform::{MockPlatform, launch_with};
use crate::on_both_backends;
use crate::sync::fast_options;

const ONE_TIME: &str = "ott-launch-1";

/// A Blackboard platform with REST credentials whose site has no institution-wide REST
/// integration, and an instructor's launch carrying a one-time session token.
pub struct Flow {
    pub fake: FakeLearn,
    pub platform: PlatformId,
    pub course: CourseId,
    pub user: UserId,
    /// The course page's path and query (with the session token).
    pub page: String,
}

pub async fn launched(app: &TestApp) -> Flow {
    let fake = FakeLearn::start().await;
    {
        let mut s = fake.state.lock().unwrap();
        s.two_legged_disabled = true;
        s.session_tokens.insert(ONE_TIME.into(), user_uuid(300));
    }
    let (mock, platform) = MockPlatform::start(app, "https://blackboard.com", "bb-app-1").await;
    app.store
        .set_platform_rest(
            platform.id,
            &fake.url(),
            blackboard_fake::KEY,
            &app.state.secret.seal(blackboard_fake::SECRET),
        )
        .await
        .unwrap();
    let response = launch_with(app, &mock, |claims: &mut Value| {
        claims["https://purl.imsglobal.org/spec/lti/claim/context"]["id"] = json!(COURSE_UUID);
        claims["https://blackboard.com/lti/claim/one_time_session_token"] = json!(ONE_TIME);
    })
    .await;
    assert_eq!(response.status(), 303);
    let page = response.headers()["location"].to_str().unwrap().to_string();
    let course: CourseId = page
        .split('?')
        .next()
        .unwrap()
        .trim_start_matches("/courses/")
        .parse()
        .unwrap();
    let user = app
        .store
        .upsert_user(
            platform.id,
            &cloop::store::users::UserUpsert {
                lms_sub: "user-instructor".into(),
                name: "Ada Lovelace".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    Flow {
        fake,
        platform: platform.id,
        course,
        user,
        page,
    }
}

/// Clicks the offer: cloop's answer (a redirect to Learn) and the state cookie it set.
pub async fn click(app: &TestApp, flow: &Flow) -> (url::Url, String) {
    let body = app
        .client
        .get(app.url(&flow.page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Authorise cloop to read this course with your Blackboard account"),
        "{body}"
    );
    let session = flow.page.split("s=").nth(1).unwrap();
    let href = format!("/courses/{}/blackboard/authorize?s={session}", flow.course);
    assert!(
        body.contains(&href),
        "the offer carries the session: {body}"
    );
    let response = app.client.get(app.url(&href)).send().await.unwrap();
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    let target = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("cloop_bb_state="), "{cookie}");
    (target, cookie)
}

/// Lets the fake Learn answer the authorization request: where it sends the browser back.
pub async fn consent(app: &TestApp, target: &url::Url) -> url::Url {
    let response = app.client.get(target.clone()).send().await.unwrap();
    assert_eq!(response.status(), 302);
    url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

pub async fn callback(app: &TestApp, back: &url::Url, cookie: &str) -> reqwest::Response {
    let path = format!("{}?{}", back.path(), back.query().unwrap_or_default());
    app.client
        .get(app.url(&path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn grants_containing(store: &Store, text: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM user_rest_grants WHERE refresh_token LIKE $1";
    let pattern = format!("%{text}%");
    match store {
        Store::Sqlite(db) => sqlx::query_scalar(sql)
            .bind(pattern)
            .fetch_one(&db.pool)
            .await
            .unwrap(),
        Store::Postgres(cloop::store::PostgresDb { pool, .. }) => sqlx::query_scalar(sql)
            .bind(pattern)
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

async fn expire_states(store: &Store) {
    let sql = "UPDATE rest_grant_states SET expires_at = 0";
    let expired = match store {
        Store::Sqlite(db) => sqlx::query(sql)
            .execute(&db.pool)
            .await
            .unwrap()
            .rows_affected(),
        Store::Postgres(cloop::store::PostgresDb { pool, .. }) => sqlx::query(sql)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert!(expired > 0);
}

on_both_backends! {
    async fn a_staff_member_authorises_cloop_and_the_sync_uses_their_token(backend: Backend) {
        let app = crate::app_on!(backend);
        let flow = launched(&app).await;
        let (target, cookie) = click(&app, &flow).await;
        assert_eq!(target.path(), "/learn/api/public/v1/oauth2/authorizationcode");
        assert!(target.as_str().starts_with(&flow.fake.url()));
        let query: HashMap<String, String> = target.query_pairs().into_owned().collect();
        assert_eq!(query["client_id"], blackboard_fake::KEY);
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["scope"], "read offline");
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["one_time_session_token"], ONE_TIME);
        assert!(query["redirect_uri"].ends_with("/lti/blackboard/callback"), "{}", query["redirect_uri"]);
        assert!(query["code_challenge"].len() >= 43 && query["state"].len() >= 32);

        let back = consent(&app, &target).await;
        assert!(back.query_pairs().any(|(k, _)| k == "code"), "{back}");
        let done = callback(&app, &back, &cookie).await;
        assert_eq!(done.status(), 200);
        assert!(done.text().await.unwrap().contains("cloop is authorised"));
        assert_eq!(flow.fake.state.lock().unwrap().grants, ["authorization_code"], "one exchange, PKCE verified by the fake");

        // The refresh token is stored sealed, never in plain text.
        let plain = flow.fake.state.lock().unwrap().refresh_tokens[&user_uuid(300)].clone();
        let grant = app.store.rest_grant(flow.platform, flow.user).await.unwrap().expect("the grant");
        assert_eq!(grant.scope, "read offline");
        assert!(!grant.refresh_token.contains(&plain));
        assert_eq!(grants_containing(&app.store, &plain).await, 0, "no plaintext refresh token in the database");
        assert_eq!(app.state.secret.unseal(&grant.refresh_token).unwrap().expose_secret(), plain);
        let page = app.client.get(app.url(&flow.page)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("cloop may read Blackboard course data with your account"), "{page}");

        // The queued sync finds no institution-wide token and uses the instructor's.
        let mut options = cloop::jobs::JobsOptions::from_config(&app.state.config);
        options.client = fast_options();
        assert!(cloop::jobs::run_one_job(&app.store, &app.state.secret, &options, "w1").await.unwrap());
        let run = app.store.latest_sync_run(flow.course).await.unwrap().expect("a sync ran");
        assert_eq!(run.status, "succeeded", "{run:?}");
        let rotated = {
            let s = flow.fake.state.lock().unwrap();
            assert!(s.user_calls > 10, "the data came with the user's token: {}", s.user_calls);
            assert_eq!(s.grants, ["authorization_code", "client_credentials", "refresh_token"]);
            s.refresh_tokens[&user_uuid(300)].clone()
        };
        assert_ne!(rotated, plain, "the refresh rotated the token");
        let grant = app.store.rest_grant(flow.platform, flow.user).await.unwrap().unwrap();
        assert_eq!(app.state.secret.unseal(&grant.refresh_token).unwrap().expose_secret(), rotated, "the rotated token replaced the spent one");
        assert!(app.store.assessments(flow.course).await.unwrap().len() >= 10);
    }
}

on_both_backends! {
    async fn concurrent_refreshes_spend_the_refresh_token_once(backend: Backend) {
        let app = crate::app_on!(backend);
        let flow = launched(&app).await;
        let secret = app.state.secret.clone();
        app.store.save_rest_grant(flow.platform, flow.user, &secret.seal("rtok-seed"), "read offline").await.unwrap();
        {
            let mut s = flow.fake.state.lock().unwrap();
            s.refresh_tokens.insert(user_uuid(300), "rtok-seed".into());
            s.token_delay = Some(Duration::from_millis(200));
        }
        let client = || {
            LearnClient::new(app.store.clone(), flow.platform, &flow.fake.url(), blackboard_fake::KEY, SecretString::from(blackboard_fake::SECRET), ClientOptions { timeout: Duration::from_secs(5), ..ClientOptions::default() })
                .unwrap()
                .for_user(flow.user, (*secret).clone())
        };
        let (a, b) = (client(), client());
        let (ra, rb) = tokio::join!(a.authenticate(), b.authenticate());
        ra.unwrap();
        rb.unwrap();
        let rotated = {
            let s = flow.fake.state.lock().unwrap();
            assert_eq!(s.grants, ["refresh_token"], "two concurrent refreshes made one token request");
            s.refresh_tokens[&user_uuid(300)].clone()
        };
        let grant = app.store.rest_grant(flow.platform, flow.user).await.unwrap().unwrap();
        assert_eq!(secret.unseal(&grant.refresh_token).unwrap().expose_secret(), rotated);

        // Both clients read with the token the one refresh got.
        let version: Value = a.get("/learn/api/public/v3/courses/uuid:0123456789abcdef0123456789abcdef").await.unwrap();
        assert_eq!(version["id"], blackboard_fake::COURSE_PK);
        let _: Value = b.get("/learn/api/public/v3/courses/uuid:0123456789abcdef0123456789abcdef").await.unwrap();
        assert_eq!(flow.fake.state.lock().unwrap().user_calls, 2);

        // A revoked grant is a clear error and is dropped, so the offer comes back.
        flow.fake.state.lock().unwrap().refresh_tokens.clear();
        let site = url::Url::parse(&flow.fake.url()).unwrap();
        cloop::lms::blackboard::user_auth::forget(&site, flow.platform, flow.user).await;
        let error = client().authenticate().await.unwrap_err();
        assert!(matches!(error, cloop::lms::blackboard::BbError::UserGrant(_)), "{error:?}");
        assert!(error.to_string().contains("authorise cloop again from the course page"), "{error}");
        assert!(app.store.rest_grant(flow.platform, flow.user).await.unwrap().is_none());
    }
}

on_both_backends! {
    async fn denial_bad_states_and_failed_exchanges_are_clear_errors(backend: Backend) {
        let app = crate::app_on!(backend);
        let flow = launched(&app).await;

        // The user declines in Blackboard.
        flow.fake.state.lock().unwrap().deny = true;
        let (target, cookie) = click(&app, &flow).await;
        let back = consent(&app, &target).await;
        let denied = callback(&app, &back, &cookie).await;
        assert_eq!(denied.status(), 403);
        assert!(denied.text().await.unwrap().contains("you declined cloop"));
        let page = app.client.get(app.url(&flow.page)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Blackboard authorisation: not completed"), "{page}");
        assert!(app.store.rest_grant(flow.platform, flow.user).await.unwrap().is_none());

        // A used state, a state from another browser, a made-up state.
        let again = callback(&app, &back, &cookie).await;
        assert_eq!(again.status(), 400);
        assert!(again.text().await.unwrap().contains("expired, was already used, or did not start in this browser"));
        flow.fake.state.lock().unwrap().deny = false;
        flow.fake.state.lock().unwrap().session_tokens.insert(ONE_TIME.into(), user_uuid(300));
        let (target, cookie) = click(&app, &flow).await;
        let back = consent(&app, &target).await;
        assert_eq!(callback(&app, &back, "cloop_bb_state=someone-elses").await.status(), 400, "the state is bound to the browser");
        let bogus = url::Url::parse(&format!("{}?code=x&state=forged", app.url("/lti/blackboard/callback"))).unwrap();
        assert_eq!(callback(&app, &bogus, "cloop_bb_state=forged").await.status(), 400);

        // The code exchange fails (the code was already spent at Learn).
        flow.fake.state.lock().unwrap().codes.clear();
        let failed = callback(&app, &back, &cookie).await;
        assert_eq!(failed.status(), 403);
        let text = failed.text().await.unwrap();
        assert!(text.contains("the token exchange with Blackboard failed") && text.contains("Unknown or used authorization code"), "{text}");
        assert!(app.store.rest_grant(flow.platform, flow.user).await.unwrap().is_none());
        let page = app.client.get(app.url(&flow.page)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("the token exchange with Blackboard failed"), "{page}");

        // A state past its ten minutes is refused.
        let (target, cookie) = click(&app, &flow).await;
        let state: String = target.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        expire_states(&app.store).await;
        let late = url::Url::parse(&format!("{}?code=x&state={state}", app.url("/lti/blackboard/callback"))).unwrap();
        let refused = callback(&app, &late, &cookie).await;
        assert_eq!(refused.status(), 400);
        assert!(refused.text().await.unwrap().contains("has expired"));

        // Learners are not offered anything and cannot start the flow.
        let course = app.store.course(flow.course).await.unwrap();
        let learner = cloop::web::session::CourseSession::new(flow.user, course.platform_id, course.deployment_id, flow.course, false)
            .token(&app.state.secret);
        let refused = app.client.get(app.url(&format!("/courses/{}/blackboard/authorize?s={learner}", flow.course))).send().await.unwrap();
        assert_eq!(refused.status(), 403);
    }
}
