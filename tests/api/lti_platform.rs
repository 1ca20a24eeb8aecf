//! A mock LTI 1.3 platform: it publishes a JWKS (counting fetches), signs real RS256
//! id_tokens, and drives a launch the way a browser between an LMS and cloop does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use cloop::store::platforms::{NewPlatform, Platform};
use cloop::store::signing_keys::StoredKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub const INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor";
pub const LEARNER: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner";

#[derive(Default)]
struct Published {
    keys: Vec<StoredKey>,
}

/// A platform's signing side and its JWKS endpoint on 127.0.0.1:0.
pub struct MockPlatform {
    pub issuer: String,
    pub client_id: String,
    pub deployment_id: String,
    pub base: String,
    pub signing: StoredKey,
    published: Arc<Mutex<Published>>,
    jwks_fetches: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct MockState {
    published: Arc<Mutex<Published>>,
    fetches: Arc<AtomicUsize>,
}

async fn serve_jwks(State(state): State<MockState>) -> axum::Json<JwkSet> {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let keys = state
        .published
        .lock()
        .unwrap()
        .keys
        .iter()
        .map(|k| serde_json::from_str::<Jwk>(&k.public_jwk).unwrap())
        .collect();
    axum::Json(JwkSet { keys })
}

impl MockPlatform {
    /// Starts the platform's JWKS server and registers it (one deployment) with cloop.
    pub async fn start(app: &TestApp, issuer: &str, client_id: &str) -> (Self, Platform) {
        let published = Arc::new(Mutex::new(Published::default()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .route("/jwks", get(serve_jwks))
            .with_state(MockState {
                published: published.clone(),
                fetches: fetches.clone(),
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

        let signing = cloop::lti::keys::generate().unwrap();
        published.lock().unwrap().keys.push(signing.clone());
        let mock = Self {
            issuer: issuer.to_string(),
            client_id: client_id.to_string(),
            deployment_id: format!("deployment-{client_id}"),
            base,
            signing,
            published,
            jwks_fetches: fetches,
        };
        let platform = app
            .store
            .create_platform(&NewPlatform {
                name: format!("mock-{client_id}"),
                product: "other".into(),
                issuer: issuer.to_string(),
                client_id: client_id.to_string(),
                auth_url: format!("{}/auth", mock.base),
                jwks_url: format!("{}/jwks", mock.base),
                token_url: format!("{}/token", mock.base),
                token_audience: None,
            })
            .await
            .unwrap();
        app.store
            .add_deployment(platform.id, &mock.deployment_id)
            .await
            .unwrap();
        (mock, platform)
    }

    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Publishes a new key and signs with it from now on (the old one stays published
    /// unless `drop_old`).
    pub fn rotate(&mut self, drop_old: bool) {
        let key = cloop::lti::keys::generate().unwrap();
        let mut published = self.published.lock().unwrap();
        if drop_old {
            published.keys.clear();
        }
        published.keys.push(key.clone());
        self.signing = key;
    }

    /// Claims of a valid resource-link launch by an instructor of course `ctx-1`.
    pub fn claims(&self, app: &TestApp, nonce: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "user-instructor",
            "exp": now + 3600,
            "iat": now,
            "nonce": nonce,
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.edu",
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": self.deployment_id,
            "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": app.url("/lti/launch"),
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": { "id": "link-1", "title": "cloop" },
            "https://purl.imsglobal.org/spec/lti/claim/roles": [INSTRUCTOR],
            "https://purl.imsglobal.org/spec/lti/claim/context": {
                "id": "ctx-1", "label": "ECOL101", "title": "Introduction to <Ecology>",
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]
            },
            "https://purl.imsglobal.org/spec/lti/claim/tool_platform": {
                "guid": "platform-guid", "name": "Example LMS", "product_family_code": "BlackboardLearn",
                "url": "https://learn.example.edu/"
            },
            "https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {
                "return_url": "https://learn.example.edu/ultra/courses/_1_1/outline", "document_target": "iframe"
            }
        })
    }

    /// Signs claims with the current key, its kid in the header.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(
            claims,
            &self.signing,
            Some(&self.signing.kid),
            Algorithm::RS256,
        )
    }

    pub fn sign_with(
        &self,
        claims: &Value,
        key: &StoredKey,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        let encoding = EncodingKey::from_rsa_pem(key.private_key.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &encoding).unwrap()
    }
}

/// What a login answered: the state and nonce to launch with, and the browser's cookie.
pub struct Login {
    pub state: String,
    pub nonce: String,
    pub cookie: String,
    pub redirect: url::Url,
}

/// Blackboard-style login: a GET with query parameters.
pub async fn login(app: &TestApp, mock: &MockPlatform) -> Login {
    let response = app
        .client
        .get(app.url("/lti/login"))
        .query(&[
            ("iss", mock.issuer.as_str()),
            ("login_hint", "hint-123"),
            ("target_link_uri", &app.url("/lti/launch")),
            ("client_id", &mock.client_id),
            ("lti_deployment_id", &mock.deployment_id),
            ("lti_message_hint", "msg-hint"),
        ])
        .send()
        .await
        .unwrap();
    login_answer(response).await
}

pub async fn login_answer(response: reqwest::Response) -> Login {
    assert_eq!(response.status(), 303, "login redirects to the platform");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let redirect = url::Url::parse(&location).unwrap();
    let query: HashMap<String, String> = redirect.query_pairs().into_owned().collect();
    Login {
        state: query["state"].clone(),
        nonce: query["nonce"].clone(),
        cookie,
        redirect,
    }
}

/// POSTs the id_token to cloop's launch endpoint as the platform's auto-submitted form.
pub async fn post_launch(
    app: &TestApp,
    id_token: &str,
    state: Option<&str>,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("id_token", id_token.to_string())];
    if let Some(state) = state {
        form.push(("state", state.to_string()));
    }
    let mut request = app.client.post(app.url("/lti/launch")).form(&form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// A full launch: login, sign the (adjusted) claims with the login's nonce, post.
pub async fn launch_with(
    app: &TestApp,
    mock: &MockPlatform,
    adjust: impl FnOnce(&mut Value),
) -> reqwest::Response {
    let login = login(app, mock).await;
    let mut claims = mock.claims(app, &login.nonce);
    adjust(&mut claims);
    post_launch(
        app,
        &mock.sign(&claims),
        Some(&login.state),
        Some(&login.cookie),
    )
    .await
}
