//! Registration: the tool's JWKS and key rotation, the admin platforms page, and LTI
//! Dynamic Registration against a fake platform configuration endpoint.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use cloop::store::EpochMs;
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};

use crate::helpers::{TestApp, count_rows};
use crate::lti_platform::MockPlatform;
use crate::{app_on, on_both_backends};

async fn admin_cookie(app: &TestApp) -> String {
    let link = cloop::web::admin::create_login_link(&app.store, &app.state.config, "ops")
        .await
        .unwrap();
    let response = app.client.get(&link).send().await.unwrap();
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

on_both_backends! {
    async fn jwks_publishes_the_signing_key_and_keeps_rotated_ones(backend: Backend) {
        let app = app_on!(backend);
        let first: JwkSet = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        assert_eq!(first.keys.len(), 1);
        let key = &first.keys[0];
        let kid = key.common.key_id.clone().expect("kid");
        assert_eq!(serde_json::to_value(key).unwrap()["use"], "sig");
        assert_eq!(serde_json::to_value(key).unwrap()["alg"], "RS256");
        assert_eq!(serde_json::to_value(key).unwrap()["kty"], "RSA");

        let rotated = cloop::lti::keys::rotate(&app.store).await.unwrap();
        let second: JwkSet = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        let kids: Vec<_> = second.keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
        assert_eq!(kids, [rotated.kid.clone(), kid.clone()], "new key first, old one still published");
        assert_eq!(cloop::lti::keys::signing_key(&app.store).await.unwrap().kid, rotated.kid);

        // A day later the retired key is withdrawn.
        let later = EpochMs::now().plus_secs(cloop::lti::keys::RETIRED_KEY_PUBLISHED_SECS + 60);
        let published: Vec<_> = app.store.published_signing_keys(later).await.unwrap().into_iter().map(|k| k.kid).collect();
        assert_eq!(published, [rotated.kid]);
    }
}

on_both_backends! {
    async fn admin_platforms_page_shows_values_to_paste_and_registers_platforms(backend: Backend) {
        let app = app_on!(backend);
        let anonymous = app.client.get(app.url("/admin/platforms")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);

        let cookie = admin_cookie(&app).await;
        let page = app.client.get(app.url("/admin/platforms")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let body = page.text().await.unwrap();
        for expected in [
            app.url("/lti/login"),
            app.url("/lti/launch"),
            app.url("/.well-known/jwks.json"),
            app.url("/lti/register?invite="),
            "oidc_initiation_url".to_string(),
            "course_navigation".to_string(),
        ] {
            assert!(body.contains(&expected), "page shows {expected}");
        }
        let csrf = body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

        let forged = app
            .client
            .post(app.url("/admin/platforms"))
            .header("cookie", &cookie)
            .form(&[("csrf", "forged"), ("name", "x"), ("preset", "blackboard"), ("client_id", "c")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
        assert_eq!(count_rows(&app.store, "platforms").await, 0);

        let created = app
            .client
            .post(app.url("/admin/platforms"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("name", "uni-learn"), ("preset", "blackboard"), ("client_id", "app-9"), ("deployment", "dep-9")])
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 303);
        let platform = app.store.platform_by_name("uni-learn").await.unwrap().unwrap();
        assert_eq!(platform.issuer, "https://blackboard.com");
        assert_eq!(app.store.deployments(platform.id).await.unwrap(), ["dep-9"]);

        let added = app
            .client
            .post(app.url(&format!("/admin/platforms/{}/deployments", platform.id)))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("deployment", "dep-10")])
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 303);
        assert_eq!(app.store.deployments(platform.id).await.unwrap(), ["dep-9", "dep-10"]);

        let bad = app
            .client
            .post(app.url("/admin/platforms"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("name", "m"), ("preset", "moodle"), ("client_id", "c")])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        assert!(bad.text().await.unwrap().contains("--base-url"));
    }
}

/// An LMS that serves its OpenID configuration and registers clients `dr-client-7`,
/// `dr-client-8`, … with the registration token `reg-token-1`.
#[derive(Clone, Default)]
pub struct FakeLms {
    pub base: String,
    pub registered: Arc<Mutex<Vec<Value>>>,
    /// Requests of any kind that reached it.
    pub requests: Arc<AtomicUsize>,
}

/// The token the fake LMS expects on its registration endpoints.
pub const REGISTRATION_TOKEN: &str = "reg-token-1";

impl FakeLms {
    /// Serves on a free loopback port, with its own base URL as issuer.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let lms = FakeLms {
            base,
            ..FakeLms::default()
        };
        let router = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(openid_configuration),
            )
            .route("/register", post(register_client))
            .with_state(lms.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        lms
    }

    pub fn configuration_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.base)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn openid_configuration(
    State(lms): State<FakeLms>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    lms.requests.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer reg-token-1") {
        return Err(StatusCode::UNAUTHORIZED);
    }
    Ok(Json(json!({
        "issuer": lms.base,
        "authorization_endpoint": format!("{}/auth", lms.base),
        "token_endpoint": format!("{}/token", lms.base),
        "jwks_uri": format!("{}/jwks", lms.base),
        "registration_endpoint": format!("{}/register", lms.base),
        "scopes_supported": ["openid"],
        "response_types_supported": ["id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "moodle", "version": "4.3",
            "messages_supported": [{"type": "LtiResourceLinkRequest"}]
        }
    })))
}

async fn register_client(
    State(lms): State<FakeLms>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    lms.requests.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer reg-token-1") {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let mut registered = lms.registered.lock().unwrap();
    registered.push(body.clone());
    let mut answer = body;
    answer["client_id"] = json!(format!("dr-client-{}", 6 + registered.len()));
    answer["https://purl.imsglobal.org/spec/lti-tool-configuration"]["deployment_id"] = json!("3");
    Ok(Json(answer))
}

on_both_backends! {
    async fn dynamic_registration_registers_and_closes_the_window(backend: Backend) {
        let app = app_on!(backend);
        let lms = FakeLms::start().await;
        let base = lms.base.clone();
        let config_url = lms.configuration_url();
        let without_invite = app
            .client
            .get(app.url("/lti/register"))
            .query(&[("openid_configuration", config_url.as_str()), ("registration_token", "reg-token-1")])
            .send()
            .await
            .unwrap();
        assert_eq!(without_invite.status(), 403, "only an admin's registration URL registers");
        assert_eq!(count_rows(&app.store, "platforms").await, 0);

        let invite = cloop::lti::invite::invite(&app.state.secret, EpochMs::now().plus_secs(600));
        let wrong_token = app
            .client
            .get(app.url("/lti/register"))
            .query(&[("invite", invite.as_str()), ("openid_configuration", config_url.as_str()), ("registration_token", "wrong")])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_token.status(), 400);
        assert!(wrong_token.text().await.unwrap().contains("HTTP 401"));

        let response = app
            .client
            .get(app.url("/lti/register"))
            .query(&[("invite", invite.as_str()), ("openid_configuration", config_url.as_str()), ("registration_token", "reg-token-1")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert!(body.contains("/static/lti-close.js") && body.contains("dr-client-7"), "{body}");
        let close_script = app.client.get(app.url("/static/lti-close.js")).send().await.unwrap().text().await.unwrap();
        assert!(close_script.contains("org.imsglobal.lti.close"));

        let metadata = lms.registered.lock().unwrap()[0].clone();
        assert_eq!(metadata["application_type"], "web");
        assert_eq!(metadata["response_types"], json!(["id_token"]));
        assert_eq!(metadata["initiate_login_uri"], app.url("/lti/login"));
        assert_eq!(metadata["redirect_uris"], json!([app.url("/lti/launch")]));
        assert_eq!(metadata["jwks_uri"], app.url("/.well-known/jwks.json"));
        assert_eq!(metadata["token_endpoint_auth_method"], "private_key_jwt");
        let scope = metadata["scope"].as_str().unwrap();
        assert!(scope.contains("contextmembership.readonly"));
        assert!(scope.contains("lti-gs/scope/contextgroup.readonly"), "the course groups, for cohorts: {scope}");

        let platforms = app.store.platforms().await.unwrap();
        assert_eq!(platforms.len(), 1);
        let platform = &platforms[0];
        assert_eq!(platform.issuer, base);
        assert_eq!(platform.client_id, "dr-client-7");
        assert_eq!(platform.product, "moodle");
        assert_eq!(platform.jwks_url, format!("{base}/jwks"));
        assert_eq!(app.store.deployments(platform.id).await.unwrap(), ["3"]);
    }
}

on_both_backends! {
    async fn dynamic_registration_refuses_an_issuer_that_does_not_own_the_configuration(backend: Backend) {
        let app = app_on!(backend);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let lms = FakeLms { base: "https://other-lms.example.edu".into(), ..FakeLms::default() };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(openid_configuration))
            .with_state(lms);
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let invite = cloop::lti::invite::invite(&app.state.secret, EpochMs::now().plus_secs(600));
        let response = app
            .client
            .get(app.url("/lti/register"))
            .query(&[
                ("invite", invite.as_str()),
                ("openid_configuration", &format!("{base}/.well-known/openid-configuration")),
                ("registration_token", "reg-token-1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert!(response.text().await.unwrap().contains("is not a prefix"));
        assert_eq!(count_rows(&app.store, "platforms").await, 0);
    }
}

on_both_backends! {
    async fn platform_storage_login_puts_state_in_the_lms_frame(backend: Backend) {
        let app = app_on!(backend);
        let (mock, _) = MockPlatform::start(&app, "https://canvas.instructure.com", "canvas-1").await;
        let response = app
            .client
            .post(app.url("/lti/login"))
            .form(&[
                ("iss", "https://canvas.instructure.com"),
                ("login_hint", "h"),
                ("target_link_uri", &app.url("/lti/launch")),
                ("client_id", "canvas-1"),
                ("lti_storage_target", "post_message_forwarding"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "a page that talks to platform storage, not a redirect");
        let body = response.text().await.unwrap();
        assert!(body.contains("data-mode=\"put\"") && body.contains("data-target=\"post_message_forwarding\""));
        assert!(body.contains(&format!("data-origin=\"{}\"", mock.base)), "messages go only to the platform's origin");
        let state = body.split("data-value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let redirect = body.split("data-redirect=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
        let nonce = url::Url::parse(&redirect).unwrap().query_pairs().find(|(k, _)| k == "nonce").unwrap().1.to_string();

        // The launch arrives without the cookie (blocked in the frame): cloop answers with a
        // page that reads the state back from platform storage.
        let token = mock.sign(&mock.claims(&app, &nonce));
        let first = crate::lti_platform::post_launch(&app, &token, Some(&state), None).await;
        assert_eq!(first.status(), 200);
        let bridge = first.text().await.unwrap();
        assert!(bridge.contains("data-mode=\"get\"") && bridge.contains("name=\"platform_state\""));
        assert_eq!(count_rows(&app.store, "users").await, 0);

        // The page re-posts with what platform storage held: the launch completes.
        let second = app
            .client
            .post(app.url("/lti/launch"))
            .form(&[("id_token", token.as_str()), ("state", &state), ("platform_state", &state)])
            .send()
            .await
            .unwrap();
        assert_eq!(second.status(), 303, "{:?}", second.text().await);

        // A storage answer that differs from the state is no proof.
        let response = app
            .client
            .post(app.url("/lti/login"))
            .form(&[
                ("iss", "https://canvas.instructure.com"),
                ("login_hint", "h"),
                ("target_link_uri", &app.url("/lti/launch")),
                ("client_id", "canvas-1"),
                ("lti_storage_target", "_parent"),
            ])
            .send()
            .await
            .unwrap();
        let body = response.text().await.unwrap();
        let state = body.split("data-value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let redirect = body.split("data-redirect=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
        let nonce = url::Url::parse(&redirect).unwrap().query_pairs().find(|(k, _)| k == "nonce").unwrap().1.to_string();
        let token = mock.sign(&mock.claims(&app, &nonce));
        let forged = app
            .client
            .post(app.url("/lti/launch"))
            .form(&[("id_token", token.as_str()), ("state", &state), ("platform_state", "something-else")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401);
    }
}
